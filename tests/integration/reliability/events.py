"""Generated canonical events, each with what crmbridge must do with it.

An event is drawn as parts (id, type, instant, contact, properties, stray keys); each
part knows whether it makes the event invalid. The verdict of the whole event:

- ``ACCEPT``: valid, must be stored (a duplicate id counts as accepted);
- ``REJECT``: must be refused, by line number, with a reason;
- ``EITHER``: crmbridge may store it or refuse it with a reason (NUL characters, which
  PostgreSQL cannot store; nesting deeper than a parser allows; a timestamp as a number).

``POISON`` events are valid webinar views whose ``watched_percent`` is an out-of-range
or non-finite number: accepted, kept as text, and named in the lead's notes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from .absurd import (
    NOT_FINITE_NUMBERS,
    PADDED_MEGABYTE,
    SPACED_60K,
    Raw,
    absurd_numbers,
    nested,
    odd_text,
    to_json,
)

ACCEPT, EITHER, REJECT = "accept", "either", "reject"
#: Out-of-range and non-finite numbers: accepted and kept as text (issue 11, defect 1).
NON_FINITE = ACCEPT
_RANK = {ACCEPT: 0, EITHER: 1, REJECT: 2}
TYPES = (
    "page_view",
    "form_submit",
    "email_click",
    "email_open",
    "content_download",
    "webinar_attended",
    "meeting_booked",
)
_MISSING = object()


@dataclass(frozen=True)
class Part:
    """One field of an event (``value`` is ``_MISSING`` to leave it out) and its verdict."""

    value: Any
    verdict: str = ACCEPT


@dataclass(repr=False)
class GeneratedEvent:
    """An event ready to send, its verdict, and who it is about."""

    body: dict[str, Any]
    verdict: str
    email: str | None = None
    poison: str | None = None  # the absurd watched_percent, when it is one
    event_id: str | None = None
    #: Nested deeper than a JSON parser goes: a JSON array holding it is refused whole.
    deep: bool = False

    def __repr__(self) -> str:  # failing examples print whole batches: keep them short
        return f"<{self.verdict} {self.line()[:160]}>"

    def line(self) -> str:
        """The event as one JSON line."""
        return to_json(self.body)


def _absurd(properties: dict[str, Any]) -> bool:
    return any(isinstance(v, Raw) and not v.text.startswith("{") for v in properties.values())


def worst(*verdicts: str) -> str:
    """The strictest verdict."""
    return max(verdicts, key=_RANK.__getitem__)


@dataclass(repr=False)
class EventSource:
    """Draws events about ``emails`` (contacts the CRM holds) relative to ``now``."""

    emails: Sequence[str]
    now: datetime
    max_future_skew: timedelta = timedelta(minutes=5)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def __repr__(self) -> str:
        return f"EventSource({len(self.emails)} contacts)"

    def fresh_id(self) -> str:
        return f"fz-{next(self._ids)}"

    # -- the parts ------------------------------------------------------------------------

    def instants(self) -> st.SearchStrategy[Part]:
        def iso(moment: datetime) -> str:
            return moment.isoformat().replace("+00:00", "Z")

        recent = st.floats(min_value=0, max_value=120).map(
            lambda days: Part(iso(self.now - timedelta(days=days)))
        )
        return st.one_of(
            recent,
            recent,
            recent,
            st.just(Part((self.now - timedelta(days=3)).replace(tzinfo=None).isoformat())),
            st.sampled_from(
                [
                    Part("2026-11-19T10:00:00+14:00"),
                    Part("0001-01-01T00:00:00Z", EITHER),  # far past
                    Part("1970-01-01T00:00:00Z"),
                    Part(1_700_000_000, EITHER),  # a number: unix seconds, or refused
                    Part(1e300, EITHER),
                    Part(iso(self.now + timedelta(days=400)), REJECT),  # future
                    Part("9999-12-31T23:59:59Z", REJECT),
                    Part("9999-12-31T23:59:59-14:00", REJECT),
                    Part("10000-01-01T00:00:00Z", REJECT),
                    Part("yesterday", REJECT),
                    Part("", REJECT),
                    Part(None, REJECT),
                    Part([2026, 11, 19], REJECT),
                    Part({"at": "2026-11-19"}, REJECT),
                    Part(_MISSING, REJECT),
                ]
            ),
        )

    def contacts(self) -> st.SearchStrategy[Part]:
        known = st.sampled_from(list(self.emails))
        return st.one_of(
            known.map(lambda e: Part({"email": e})),
            known.map(lambda e: Part({"email": e})),
            known.map(lambda e: Part({"email": f"  {e.upper()} "})),
            st.sampled_from(
                [
                    Part({"email": "stranger@nowhere.example"}),
                    Part({"crm": "hubspot", "id": "999999999"}),
                    Part({"email": "ṁüñoz@例え.jp"}),
                    Part({"email": "a@b\u0000c"}, REJECT),
                    Part({"email": "x" * 400 + "@example.com"}, REJECT),
                    Part([{"email": "ana@acme.es"}], REJECT),
                    Part("ana@acme.es", REJECT),
                    Part({}, REJECT),
                    Part({"email": 3}, REJECT),
                    Part({"email": None}, REJECT),
                    Part({"crm": "hubspot"}, REJECT),
                    Part({"email": "ana@acme.es", "phone": "1"}, REJECT),
                    Part(None, REJECT),
                    Part(_MISSING, REJECT),
                ]
            ),
        )

    def types(self) -> st.SearchStrategy[Part]:
        return st.one_of(
            st.sampled_from(TYPES).map(Part),
            st.sampled_from(TYPES).map(Part),
            st.sampled_from(
                [
                    Part("🚀_launch"),  # unknown types are stored (and counted)
                    Part("تسجيل"),
                    Part("x" * 64),
                    Part("x" * 65, REJECT),
                    Part("", REJECT),
                    Part("page\u0000view", REJECT),
                    Part(1, REJECT),
                    Part(["page_view"], REJECT),
                    Part(None, REJECT),
                    Part(_MISSING, REJECT),
                ]
            ),
        )

    def properties(self) -> st.SearchStrategy[Part]:
        values: st.SearchStrategy[Any] = st.one_of(
            st.sampled_from(["https://acme.es/pricing", "case_study", "nurture-q4", 95, 40.5]),
            odd_text,
            absurd_numbers,
            st.integers(min_value=-(2**70), max_value=2**70),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([-0.0, 0, True, None, [], {}, [1, "a", None], nested(30)]),
            # NUL only where the verdict allows a refusal (PostgreSQL cannot store it).
            st.text(st.characters(exclude_characters="\x00"), max_size=20),
        )
        keys = st.one_of(
            st.sampled_from(["url", "asset_type", "campaign", "watched_percent", "status"]),
            st.sampled_from(["مفتاح", "🔑", "k" * 10_000, "", "a.b", "$where"]),
        )
        ordinary = st.dictionaries(keys, values, max_size=4).map(
            lambda props: Part(props, NON_FINITE if _absurd(props) else ACCEPT)
        )
        return st.one_of(
            ordinary,
            ordinary,
            ordinary,
            st.sampled_from(
                [
                    Part(_MISSING),
                    Part({"url": SPACED_60K}),
                    Part({"watched_percent": PADDED_MEGABYTE[0]}),
                    Part({"deep": nested(5_000)}, EITHER),
                    Part({"deep": nested(100_000)}, EITHER),
                    Part({"note": "nul \u0000 inside"}, EITHER),
                    Part({"bad\u0000key": 1}, EITHER),
                    Part({"lone": "\ud800"}, EITHER),
                    Part({"lone": "\udfff tail"}, EITHER),
                    Part([1, 2], REJECT),
                    Part("url=https://acme.es", REJECT),
                    Part(42, REJECT),
                ]
            ),
        )

    def ids(self) -> st.SearchStrategy[Part]:
        return st.one_of(
            st.builds(lambda: Part(self.fresh_id())),
            st.builds(lambda: Part(self.fresh_id())),
            st.builds(lambda: Part(self.fresh_id())),
            st.sampled_from(
                [
                    Part(_MISSING),
                    Part("dup-1"),  # the same id again and again: one stored
                    Part("dup-2"),
                    Part("🚀" * 32),
                    Part("x" * 129, REJECT),
                    Part("id\u0000", REJECT),
                    Part(12345, REJECT),
                    Part(["a"], REJECT),
                ]
            ),
        )

    # -- whole events ---------------------------------------------------------------------

    def events(self) -> st.SearchStrategy[GeneratedEvent]:
        """Any event: mostly valid, often absurd."""
        mixed = self._mixed()
        return st.one_of(mixed, mixed, mixed, self._poison(), self._valid(), self._valid())

    def _valid(self) -> st.SearchStrategy[GeneratedEvent]:
        return st.builds(
            self._assemble,
            st.builds(lambda: Part(self.fresh_id())),
            st.sampled_from(TYPES).map(Part),
            self.instants().filter(lambda p: p.verdict == ACCEPT),
            st.sampled_from(list(self.emails)).map(lambda e: Part({"email": e})),
            st.just(Part({"url": "https://acme.es/pricing"})),
            st.just(Part(_MISSING)),
        )

    def _poison(self) -> st.SearchStrategy[GeneratedEvent]:
        """A webinar view of a known contact with an absurd ``watched_percent``: a JSON
        number, or the same text in a JSON string (as a form tool would send it)."""

        def make(email: str, number: str, days: float, quoted: bool) -> GeneratedEvent:
            moment = (self.now - timedelta(days=days)).isoformat().replace("+00:00", "Z")
            body = {
                "event_id": self.fresh_id(),
                "type": "webinar_attended",
                "occurred_at": moment,
                "contact": {"email": email},
                "properties": {"watched_percent": number if quoted else Raw(number)},
            }
            return GeneratedEvent(body, NON_FINITE, email, number, body["event_id"])

        numbers = st.sampled_from(NOT_FINITE_NUMBERS)
        days = st.floats(min_value=0, max_value=60)
        contacts = st.sampled_from(list(self.emails))
        return st.builds(make, contacts, numbers, days, st.booleans())

    def _mixed(self) -> st.SearchStrategy[GeneratedEvent]:
        extra = st.sampled_from([Part(_MISSING)] * 6 + [Part("x", REJECT), Part(None, REJECT)])
        return st.builds(
            self._assemble,
            self.ids(),
            self.types(),
            self.instants(),
            self.contacts(),
            self.properties(),
            extra,
        )

    def _assemble(
        self, event_id: Part, kind: Part, at: Part, contact: Part, props: Part, extra: Part
    ) -> GeneratedEvent:
        body: dict[str, Any] = {}
        for name, part in (
            ("event_id", event_id),
            ("type", kind),
            ("occurred_at", at),
            ("contact", contact),
            ("properties", props),
            ("unexpected", extra),
        ):
            if part.value is not _MISSING:
                body[name] = part.value
        verdict = worst(event_id.verdict, kind.verdict, at.verdict, contact.verdict)
        verdict = worst(verdict, props.verdict, extra.verdict)
        email = contact.value.get("email") if isinstance(contact.value, dict) else None
        ident = event_id.value if isinstance(event_id.value, str) else None
        deep = isinstance(props.value, dict) and any(
            isinstance(v, Raw) and len(v.text) > 5_000 for v in props.value.values()
        )
        email = email if isinstance(email, str) else None
        return GeneratedEvent(body, verdict, email, None, ident, deep)
