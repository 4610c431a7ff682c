"""A plugin's local sandbox: its CRM running on this machine, for ``demo`` and tests.

A plugin that ships one sets :attr:`ConnectorPlugin.sandbox
<crmbridge.connector.plugin.ConnectorPlugin.sandbox>` to a :class:`SandboxProvider`.
``crmbridge demo`` starts it in-process (:meth:`SandboxProvider.start`) and runs the
real pipeline against it; ``crmbridge sandbox`` serves it until Ctrl-C
(:meth:`SandboxProvider.serve`). Everything the core needs of a running sandbox is
here in CRM-neutral terms: where it listens, the settings that point the connector at
it, its synthetic leads and their history as canonical events, and the few things the
demo makes happen in it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pydantic_core import PydanticCustomError

from crmbridge.connector.protocols import Connector
from crmbridge.connector.settings import ConnectorSettings
from crmbridge.durations import parse_duration

#: The seed of a sandbox full of synthetic leads (the other seed every sandbox knows
#: is ``"empty"``).
DEMO_SEED = "demo"


@dataclass(frozen=True, slots=True)
class SandboxContact:
    """One of the sandbox's contacts, as the demo picks them (by id and job title)."""

    crm_id: str
    email: str | None
    job_title: str


@dataclass(frozen=True, slots=True)
class LeadFields:
    """The CRM's property names of what the demo shows of each lead."""

    first_name: str
    last_name: str
    company: str
    #: Holds the id of the lead's owner (see :meth:`Sandbox.owner_names`).
    owner: str
    #: ``(example's name, CRM's name)`` of the properties the bundled example model
    #: reads, where the CRM names them otherwise (the example uses HubSpot's names):
    #: the demo scores with the example so renamed.
    renames: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """How ``crmbridge sandbox`` serves: its command-line options.

    ``rate_limit`` is the number of requests in one window of the CRM's own rate limit
    (HubSpot's is 10 s) before it answers 429; ``webhook_url`` receives the CRM's
    webhooks for contact changes, signed as the CRM signs them (``None``: none sent).
    """

    port: int = 8765
    host: str = "127.0.0.1"
    seed: str = DEMO_SEED
    token: str = "sandbox-token"
    latency_ms: int = 0
    fault_rate: float = 0.0
    rate_limit: int = 190
    webhook_url: str | None = None
    #: Search shows each change between these many milliseconds after it is made,
    #: drawn per change (``(0, 0)``: at once); a sandbox that models no search index
    #: says it ignores it.
    index_lag_ms: tuple[int, int] = (0, 0)


#: The longest index lag a sandbox takes (HubSpot's search lags seconds, not hours).
MAX_INDEX_LAG = timedelta(hours=1)


def parse_index_lag(text: str) -> tuple[int, int]:
    """``"0-30s"`` → ``(0, 30000)``: a range of durations, whose start without a unit
    takes the end's (a bare number is seconds; one duration is a fixed lag);
    ``ValueError`` says what is wrong."""
    low_text, dash, high_text = (part.strip() for part in text.strip().partition("-"))
    if not dash:
        low_text = high_text = low_text
    unit = high_text.lstrip("0123456789.").strip() or "s"
    try:
        high = parse_duration(_with_unit(high_text, "s"))
        low = parse_duration(_with_unit(low_text, unit))
    except PydanticCustomError as exc:
        raise ValueError(f'{exc.message()} (write a range such as "0-30s", or "5s")') from None
    if low > high:
        raise ValueError(f'the range "{text.strip()[:40]}" ends before it starts')
    if high > MAX_INDEX_LAG:
        raise ValueError("must be at most 1h")
    return round(low.total_seconds() * 1000), round(high.total_seconds() * 1000)


def _with_unit(part: str, unit: str) -> str:
    """A bare number gets ``unit``."""
    return f"{part}{unit}" if part.replace(".", "", 1).isdigit() else part


class Sandbox(Protocol):
    """A running sandbox (what :meth:`SandboxProvider.start` yields).

    ``url`` is its API's base URL, ``admin_url`` a page showing the CRM as a rep sees
    it; ``settings`` is an enabled ``[connectors.<name>]`` table pointing at it (its
    token is the sandbox's, no secret); ``sign_in`` says how a client signs in, for
    people (e.g. ``token sandbox-token``).
    """

    url: str
    admin_url: str
    settings: ConnectorSettings
    sign_in: str
    fields: LeadFields

    def connect(self) -> Connector:
        """A connector built from :attr:`settings`, whose calls :meth:`api_calls` counts."""
        ...

    def api_calls(self) -> dict[str, int]:
        """The API calls of every connector from :meth:`connect`, by what they did."""
        ...

    def contact_count(self) -> int:
        """How many contacts the sandbox holds."""
        ...

    def contacts(self) -> list[SandboxContact]:
        """Every contact, in the sandbox's own order."""
        ...

    def demo_events(self) -> list[dict[str, Any]]:
        """The synthetic leads' history as canonical events (docs/events.md)."""
        ...

    def reply(self, crm_id: str) -> None:
        """The lead replies to a sales email now, as the CRM records it."""
        ...

    def owner_names(self) -> dict[str, str]:
        """Each owner's full name by the id :attr:`LeadFields.owner` holds."""
        ...


class SandboxProvider(Protocol):
    """Starts a plugin's sandbox in-process, or serves it for ``crmbridge sandbox``."""

    def start(self, seed: str = DEMO_SEED) -> AbstractContextManager[Sandbox]:
        """A sandbox listening on a free local port until the context ends."""
        ...

    def serve(self, options: SandboxOptions) -> None:
        """Serve until interrupted, after printing where and how to point crmbridge at it."""
        ...
