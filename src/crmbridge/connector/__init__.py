"""The connector contract: everything a CRM plugin implements and everything it may use.

A plugin imports from here (and from public helpers such as :mod:`crmbridge.errors`,
:mod:`crmbridge.clock` and :mod:`crmbridge.records`), never from the daemon, the sync
loop or the store. docs/architecture.md describes the contract and how to add a CRM.
"""

from crmbridge.connector.companies import (
    CompanyPage,
    CompanyReader,
    CompanyRecord,
    CompanyWriter,
    ReadsCompanies,
    company_reader,
    company_writer,
)
from crmbridge.connector.cursor import TieCursor
from crmbridge.connector.lookback import CorruptCursorError, LookbackCursor
from crmbridge.connector.outcomes import (
    DealOutcome,
    OutcomeReader,
    ReadsOutcomes,
    outcome_reader,
)
from crmbridge.connector.plugin import ConnectorPlugin
from crmbridge.connector.protocols import (
    Connector,
    DailyCount,
    HandoffConnector,
    PacesSearches,
    SharesDailyCount,
)
from crmbridge.connector.sandbox import (
    LeadFields,
    Sandbox,
    SandboxContact,
    SandboxOptions,
    SandboxProvider,
)
from crmbridge.connector.settings import ConnectorSettings, Duration, at_least, at_most
from crmbridge.connector.types import (
    Action,
    ActionKind,
    CheckReport,
    EnrollmentState,
    FieldSpec,
    FieldType,
    Owner,
    Page,
    Write,
    WriteResult,
)
from crmbridge.connector.webhook import (
    Gone,
    WebhookAnswer,
    WebhookChange,
    WebhookDelivery,
    WebhookError,
    WebhookReceiver,
    WebhookRequest,
    WebhookSupport,
    crm_ids,
    receipt_key,
)

__all__ = [
    "Action",
    "ActionKind",
    "CheckReport",
    "CompanyPage",
    "CompanyReader",
    "CompanyRecord",
    "CompanyWriter",
    "Connector",
    "ConnectorPlugin",
    "ConnectorSettings",
    "CorruptCursorError",
    "DailyCount",
    "DealOutcome",
    "Duration",
    "EnrollmentState",
    "FieldSpec",
    "FieldType",
    "Gone",
    "HandoffConnector",
    "LeadFields",
    "LookbackCursor",
    "OutcomeReader",
    "Owner",
    "PacesSearches",
    "Page",
    "ReadsCompanies",
    "ReadsOutcomes",
    "Sandbox",
    "SandboxContact",
    "SandboxOptions",
    "SandboxProvider",
    "SharesDailyCount",
    "TieCursor",
    "WebhookAnswer",
    "WebhookChange",
    "WebhookDelivery",
    "WebhookError",
    "WebhookReceiver",
    "WebhookRequest",
    "WebhookSupport",
    "Write",
    "WriteResult",
    "at_least",
    "at_most",
    "company_reader",
    "company_writer",
    "crm_ids",
    "outcome_reader",
    "receipt_key",
]
