"""The company (account) capability: the records contacts belong to, for ``company.`` rules.

A scoring rule may read a property of the contact's company as ``company.<property>``
(``company.numberofemployees``). A connector that can say which company a contact
belongs to has a ``companies`` attribute (:class:`ReadsCompanies`) holding a
:class:`CompanyReader`; one without it, or holding ``None``, reads no companies and
those rules never match.
What "the company" is belongs to the CRM: HubSpot's primary associated company, a
Salesforce Contact's Account, or a Lead's own company fields.

crmbridge keeps a cache of the companies its contacts belong to (``store/companies.py``)
and asks the reader only for what the cache lacks: a reader works in batches, never a
call per contact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from crmbridge.connector.types import FieldSpec, Write, WriteResult


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    """One company as the CRM holds it: its id and the properties asked for."""

    id: str
    properties: Mapping[str, str]
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CompanyPage:
    """Companies changed since a cursor, and the cursor to persist once they are stored."""

    records: tuple[CompanyRecord, ...]
    cursor: str


class CompanyReader(Protocol):
    """Reads the companies contacts belong to, in batches.

    - ``links`` says which company each contact belongs to (``None``: none), for many
      contacts a call; a contact the CRM does not know is left out.
    - ``read`` reads companies by id (unknown ids are left out), in as few calls as the
      CRM allows.
    - ``changes`` yields the companies modified since ``cursor``, oldest first; with
      ``cursor=None`` it yields one empty page whose cursor starts from now (the
      companies already linked are read with ``read``, not swept).
    - ``property_names`` lists every company property, for ``crmbridge check`` (``None``
      when the CRM cannot say).

    ``link_properties`` are the contact properties that change when a contact's company
    does (HubSpot's ``associatedcompanyid``, a Salesforce Contact's ``AccountId``): they
    are read with the contacts, and a contact whose values of them changed has its link
    asked for again. Contacts read again for any other reason cost no links call.
    """

    link_properties: tuple[str, ...]

    def property_names(self) -> frozenset[str] | None:
        """Every company property the CRM has, or ``None`` when it cannot say."""
        ...

    def links(self, contact_ids: Sequence[str]) -> dict[str, str | None]:
        """The company of each contact the CRM knows (``None`` for no company)."""
        ...

    def read(self, company_ids: Sequence[str], properties: Sequence[str]) -> list[CompanyRecord]:
        """The companies that exist among ``company_ids``, with ``properties``."""
        ...

    def changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[CompanyPage]:
        """Companies modified since ``cursor``, oldest first, in pages."""
        ...


@runtime_checkable
class CompanyWriter(Protocol):
    """Writes crmbridge's own company properties (the account score), in batches.

    A company reader that can also write declares it by these members:

    - ``write_batch_size`` is the most companies one ``write`` call takes;
    - ``write`` sets property values on companies, one result per company (a bad one
      never sinks the others); a failure of the whole call raises, as a contact write;
    - ``ensure_property`` creates a company property crmbridge writes when it is
      missing (in crmbridge's property group), True when it created it.

    Reading a value back (crash recovery) uses the reader's ``read``.
    """

    write_batch_size: int

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Set the values of each company of ``batch``."""
        ...

    def ensure_property(self, field: FieldSpec) -> bool:
        """Create ``field`` as a company property unless it exists; True when created."""
        ...


def company_writer(connector: object) -> CompanyWriter | None:
    """The connector's company writer: its company reader when that can write too."""
    reader = company_reader(connector)
    return reader if isinstance(reader, CompanyWriter) else None


@runtime_checkable
class ReadsCompanies(Protocol):
    """A connector that declares the company capability: ``companies`` is its
    :class:`CompanyReader`, or ``None`` where it has none at the moment."""

    @property
    def companies(self) -> CompanyReader | None:
        """The company reader, or ``None``."""
        ...


def company_reader(connector: object) -> CompanyReader | None:
    """The connector's company reader; ``None`` for a connector that declares none.

    The capability is a protocol of its own rather than a member of
    :class:`~crmbridge.connector.Connector`, so a connector written before it (or
    without companies) needs no change: it reads no companies.
    """
    return connector.companies if isinstance(connector, ReadsCompanies) else None
