"""Which contacts to rescore: those scored with another model, or an admin's filter.

A model edit changes the model's version; every stored score records the version it
was computed with. The contacts whose current score is of another version are
*outdated*: :func:`mark_dirty` flags them (in batches, each its own short
transaction) and the ordinary rescoring takes them from there, in its own batches,
writing only what changed.

``crmbridge rescore --where`` takes small filters, parsed here (never evaluated as
code) into SQL conditions: ``FIELD OP VALUE`` with the fields of :data:`FIELDS` and the
operators ``=``, ``!=``, ``>=``, ``<=``, ``>``, ``<`` and ``~`` (contains, ignoring case).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, and_, cast, func, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from crmbridge.store.repository import Store
from crmbridge.store.session import Session
from crmbridge.store.tables import ContactRow, ScoreRow

#: A set of contacts, as a condition the store evaluates (callers combine and pass it on
#: without writing SQL themselves).
Selection = ColumnElement[bool]

#: Contacts flagged per transaction: short transactions never hold up a poll for long.
MARK_BATCH = 5_000

_CONTACTS: Table = ContactRow.__table__  # type: ignore[attr-defined]
_SCORES: Table = ScoreRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Field:
    """A field a filter may name: its column, on the contact or its current score."""

    column: str
    on_score: bool
    kind: str  # "text", "number" or "flag"


#: What ``--where`` can filter on.
FIELDS: dict[str, Field] = {
    "email": Field("email", False, "text"),
    "crm": Field("crm", False, "text"),
    "crm_id": Field("crm_id", False, "text"),
    "stage": Field("stage", False, "text"),
    "score": Field("total", True, "number"),
    "fit": Field("fit", True, "number"),
    "engagement": Field("engagement", True, "number"),
    "grade": Field("grade", True, "text"),
    "hot": Field("hot", True, "flag"),
    "model": Field("model_version", True, "text"),
}

_EXPRESSION = re.compile(r"^\s*([a-z_]+)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$")
_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def outdated(version: str) -> Selection:
    """Contacts whose current score was computed with a model other than ``version``.

    Contacts held for another store are left out: nothing is written for them anyway.
    """
    stale = select(_SCORES.c.contact_id).where(
        _SCORES.c.is_current.is_(True), _SCORES.c.model_version != version
    )
    return and_(_CONTACTS.c.held_by.is_(None), _CONTACTS.c.id.in_(stale))


def everyone() -> Selection:
    """Every contact that is not held for another store."""
    return _CONTACTS.c.held_by.is_(None)


def parse_where(expressions: Sequence[str]) -> Selection:
    """The contacts matching every one of ``expressions`` (``ValueError`` says what is
    wrong with one)."""
    clauses = [_clause(text) for text in expressions]
    return and_(everyone(), *clauses)


def _clause(text: str) -> Selection:
    found = _EXPRESSION.match(text)
    if found is None:
        raise ValueError(f"{text!r}: expected FIELD OP VALUE, e.g. stage=mql or score>=50")
    name, op, raw = found.groups()
    field = FIELDS.get(name)
    if field is None:
        raise ValueError(f"{text!r}: unknown field {name!r}; known: {', '.join(FIELDS)}")
    raw = raw.strip("\"'")
    table = _SCORES if field.on_score else _CONTACTS
    column = table.c[field.column]
    condition: Selection
    if op == "~":
        if field.kind != "text":
            raise ValueError(f"{text!r}: ~ (contains) works on text fields only")
        condition = func.lower(column).contains(raw.lower(), autoescape=True)
    elif field.kind == "number":
        try:
            number = int(raw)
        except ValueError:
            raise ValueError(f"{text!r}: {name} takes a whole number") from None
        condition = _compare(column, op, literal(number))
    elif field.kind == "flag":
        if op not in ("=", "!=") or raw.lower() not in _FLAGS:
            raise ValueError(f"{text!r}: {name} takes = or != and true or false")
        condition = _compare(column, op, literal(_FLAGS[raw.lower()]))
    else:
        if op not in ("=", "!="):
            raise ValueError(f"{text!r}: text fields take =, != or ~")
        condition = _compare(func.lower(column), op, literal(raw.lower()))
    if not field.on_score:
        return condition
    scored = select(_SCORES.c.contact_id).where(_SCORES.c.is_current.is_(True), condition)
    return _CONTACTS.c.id.in_(scored)


def _compare(left: ColumnElement[object], op: str, right: ColumnElement[object]) -> Selection:
    comparisons: dict[str, Selection] = {
        "=": left == right,
        "!=": left != right,
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }
    return comparisons[op]


def count_selected(store: Store, where: Selection) -> int:
    """How many contacts ``where`` selects."""
    with store.session() as session:
        query = select(func.count()).select_from(_CONTACTS).where(where)
        return int(session.execute(query).scalar() or 0)


def mark_dirty(store: Store, where: Selection, *, batch: int = MARK_BATCH) -> int:
    """Flag the contacts ``where`` selects for rescoring, ``batch`` per transaction;
    how many were flagged (those already flagged are not counted again)."""
    marked = 0
    after = 0
    while True:
        with store.session() as session:
            query = (
                select(_CONTACTS.c.id)
                .where(_CONTACTS.c.id > after, _CONTACTS.c.dirty.is_(False), where)
                .order_by(_CONTACTS.c.id)
                .limit(batch)
            )
            ids = [int(row[0]) for row in session.execute(query)]
            if not ids:
                return marked
            session.execute(update(_CONTACTS).where(_CONTACTS.c.id.in_(ids)).values(dirty=True))
            session.commit()
        marked += len(ids)
        after = ids[-1]


def either(*selections: Selection) -> Selection:
    """The contacts any of ``selections`` selects."""
    return or_(*selections)


def hot_leads() -> Selection:
    """Contacts whose current score is hot."""
    hot = select(_SCORES.c.contact_id).where(_SCORES.c.is_current.is_(True), _SCORES.c.hot)
    return _CONTACTS.c.id.in_(hot)


def at_stage(stage: str) -> Selection:
    """Contacts at lifecycle ``stage``."""
    return _CONTACTS.c.stage == stage


def flag_all(store: Store, where: Selection, *, batch: int = MARK_BATCH) -> int:
    """Flag every contact ``where`` selects (not held for another store) for rescoring,
    ``batch`` per transaction, already flagged ones included; how many there were."""
    return rewrite_handoff(store, where, None, batch=batch)


def rewrite_handoff(
    store: Store,
    where: Selection,
    change: Callable[[Any], dict[str, Any]] | None,
    *,
    batch: int = MARK_BATCH,
) -> int:
    """Replace the hand-off state of every contact ``where`` selects (not held for
    another store) by ``change(state)`` — or, with ``change`` None, flag it for
    rescoring — ``batch`` per transaction; how many contacts there were.

    Each state is replaced only if it is still the one ``change`` was given (compared
    as stored): a drain saving a contact's state meanwhile (an enrollment forgotten) is
    never overwritten; ``change`` is applied again to what it saved.
    """
    handled = 0
    after = 0
    while True:
        with store.session() as session:
            query = (
                select(
                    _CONTACTS.c.id,
                    _CONTACTS.c.handoff,
                    _stored(_CONTACTS.c.handoff).label("stored"),
                )
                .where(_CONTACTS.c.id > after, _CONTACTS.c.held_by.is_(None), where)
                .order_by(_CONTACTS.c.id)
                .limit(batch)
            )
            rows = list(session.execute(query))
            if not rows:
                return handled
            ids = [int(row.id) for row in rows]
            if change is None:
                session.execute(update(_CONTACTS).where(_CONTACTS.c.id.in_(ids)).values(dirty=True))
            else:
                for contact_id, state, stored in rows:
                    _replace_handoff(session, int(contact_id), state, stored, change)
            session.commit()
        handled += len(rows)
        after = ids[-1]


#: How often a contact's hand-off state is read again when it changed under a rewrite.
REWRITE_TRIES = 5


def _stored(column: Any) -> Any:
    """``column`` as the text the database holds (JSON has no equality in Postgres)."""
    return cast(column, Text)


def _replace_handoff(
    session: Session,
    contact_id: int,
    state: Any,
    stored: str | None,
    change: Callable[[Any], dict[str, Any]],
) -> None:
    """Replace the contact's state by ``change(state)`` if it still holds ``stored``;
    otherwise read what it holds now and try again (a few times, then leave it: a
    contact changing that often is being worked on, and keeps what was saved)."""
    for _ in range(REWRITE_TRIES):
        held = _stored(_CONTACTS.c.handoff)
        same = held.is_(None) if stored is None else held == stored
        answer = session.execute(
            update(_CONTACTS)
            .where(_CONTACTS.c.id == contact_id, same)
            .values(handoff=change(state))
        )
        if getattr(answer, "rowcount", 1):
            return
        current = session.execute(
            select(_CONTACTS.c.handoff, _stored(_CONTACTS.c.handoff)).where(
                _CONTACTS.c.id == contact_id
            )
        ).one_or_none()
        if current is None:
            return
        state, stored = current
