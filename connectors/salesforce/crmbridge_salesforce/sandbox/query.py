"""Running a parsed SOQL query against the org: names, types, filters, order and limit.

Checks follow Salesforce: an unknown object is ``INVALID_TYPE``; an unknown field, or
one the integration user cannot see (field-level security), is ``INVALID_FIELD``; a
literal of the wrong kind for its field (a quoted datetime, a number on a text field)
is ``INVALID_FIELD`` too. String comparisons ignore case, as SOQL's do.

A parent's field (``Opportunity.IsWon``) follows the lookup to a live parent record: a
lookup that is empty or names a deleted record reads as null, and the parent comes
back nested under the relationship's name (null when there is none), as Salesforce
answers. A relationship the object does not have is ``INVALID_FIELD``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crmbridge_salesforce.sandbox.schema import NUMERIC_TYPES, TEXT_TYPES, FieldDef
from crmbridge_salesforce.sandbox.soql import (
    Comparison,
    Condition,
    Junction,
    Literal,
    Negation,
    Query,
    SoqlError,
    like_matches,
    parse,
)
from crmbridge_salesforce.sandbox.state import OrgState

_ALLOWED = {
    "id": {"string", "null"},
    "reference": {"string", "null"},
    "boolean": {"boolean", "null"},
    "datetime": {"datetime", "null"},
    "date": {"date", "null"},
    "int": {"number", "null"},
}


def _check_literal(sobject: str, fdef: FieldDef, op: str, literal: Literal) -> None:
    kind = fdef.type
    if kind in NUMERIC_TYPES:
        allowed = {"number", "null"}
    elif kind in TEXT_TYPES:
        allowed = {"string", "null", "like"}
    else:
        allowed = _ALLOWED.get(kind, {"string", "null"})
    if literal.kind == "like" and kind in ("id", "reference"):
        allowed = allowed | {"like"}
    if literal.kind not in allowed:
        shape = {"datetime": "dateTime", "date": "date"}.get(kind, kind)
        hint = " and should not be enclosed in quotes" if kind in ("datetime", "date") else ""
        raise SoqlError(
            f"value of filter criterion for field '{fdef.name}' must be of type {shape}{hint}",
            "INVALID_FIELD",
        )
    if literal.kind == "null" and op not in ("=", "!="):
        raise SoqlError(f"null is only compared with = or != (field '{fdef.name}')")


@dataclass(frozen=True, slots=True)
class _Column:
    """A selected, compared or sorted field: its own, or a parent's through ``lookup``."""

    fdef: FieldDef
    lookup: FieldDef | None = None
    parent: str = ""

    @property
    def relationship(self) -> str:
        """The relationship's name (the lookup's without ``Id``)."""
        return self.lookup.name[: -len("Id")] if self.lookup is not None else ""

    def parent_record(self, state: OrgState, record: dict[str, Any]) -> dict[str, Any] | None:
        """The live parent record the lookup names, or None."""
        assert self.lookup is not None
        ref = record.get(self.lookup.name)
        found = state.get(self.parent, ref) if isinstance(ref, str) else None
        return None if found is None or found["IsDeleted"] else found

    def read(self, state: OrgState, record: dict[str, Any]) -> Any:
        """The value of this column for ``record``."""
        if self.lookup is None:
            return record.get(self.fdef.name)
        parent = self.parent_record(state, record)
        return None if parent is None else parent.get(self.fdef.name)


class _Plan:
    """A query checked against the org: canonical field names resolved once."""

    def __init__(self, state: OrgState, query: Query) -> None:
        self.state = state
        sobject = state.object_name(query.sobject)
        if sobject is None:
            raise SoqlError(
                f"sObject type '{query.sobject}' is not supported. If you are attempting to "
                "use a custom object, be sure to append the '__c' after the entity name.",
                "INVALID_TYPE",
            )
        self.sobject = sobject
        self.query = query
        self.columns = [self.column(name) for name in query.fields]
        if query.where is not None:
            self.check(query.where)
        self.order = [(self.column(k.field), k) for k in query.order]

    def column(self, name: str) -> _Column:
        relationship, _, field_name = name.rpartition(".")
        if not relationship:
            return _Column(self.field(self.sobject, name))
        found = self.state.schema.parent(self.sobject, relationship)
        if found is None or not self.state.can_read(self.sobject, found[0].name):
            raise SoqlError(
                f"Didn't understand relationship '{relationship}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after "
                "the custom relationship name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
                "INVALID_FIELD",
            )
        lookup, parent = found
        return _Column(self.field(parent, field_name), lookup, parent)

    def field(self, sobject: str, name: str) -> FieldDef:
        fdef = self.state.schema.field(sobject, name)
        if fdef is None or not self.state.can_read(sobject, fdef.name):
            raise SoqlError(
                f"No such column '{name}' on entity '{sobject}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field "
                "name.",
                "INVALID_FIELD",
            )
        return fdef

    def check(self, condition: Condition) -> None:
        if isinstance(condition, Junction):
            for part in condition.parts:
                self.check(part)
        elif isinstance(condition, Negation):
            self.check(condition.part)
        else:
            fdef = self.column(condition.field).fdef
            values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
            for literal in values:
                _check_literal(self.sobject, fdef, condition.op, literal)

    def matches(self, record: dict[str, Any], condition: Condition) -> bool:
        if isinstance(condition, Junction):
            results = (self.matches(record, part) for part in condition.parts)
            return all(results) if condition.op == "AND" else any(results)
        if isinstance(condition, Negation):
            return not self.matches(record, condition.part)
        return self.compare(record, condition)

    def compare(self, record: dict[str, Any], cmp: Comparison) -> bool:
        column = self.column(cmp.field)
        fdef = column.fdef
        value = column.read(self.state, record)
        if cmp.op in ("IN", "NOT IN"):
            assert isinstance(cmp.value, tuple)
            found = any(_equal(value, lit, fdef) for lit in cmp.value)
            return found if cmp.op == "IN" else not found
        assert isinstance(cmp.value, Literal)
        literal = cmp.value
        if cmp.op == "LIKE":
            return value is not None and like_matches(str(literal.value), str(value))
        if cmp.op == "=":
            return _equal(value, literal, fdef)
        if cmp.op == "!=":
            return not _equal(value, literal, fdef)
        if value is None or literal.value is None:
            return False
        left, right = _comparable(value, fdef), _comparable(literal.value, fdef)
        try:
            return bool(
                {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                    cmp.op
                ]
            )
        except TypeError:
            return False

    def sort_key(self, record: dict[str, Any]) -> tuple[Any, ...]:
        key: list[Any] = []
        for column, order in self.order:
            fdef = column.fdef
            value = column.read(self.state, record)
            is_null = value is None
            # Nulls go first or last per key; descending inverts the comparable part.
            null_rank = (
                (0 if order.nulls_first else 1) if is_null else (1 if order.nulls_first else 0)
            )
            comparable = (
                _Reverse(_comparable(value, fdef)) if order.descending else _comparable(value, fdef)
            )
            key.append((null_rank, None if is_null else comparable))
        return tuple(key)


class _Reverse:
    """Wraps a value so sorting ascending orders it descending."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and bool(other.value == self.value)

    def __hash__(self) -> int:  # pragma: no cover - sort keys are never hashed
        return hash(self.value)


def _comparable(value: Any, fdef: FieldDef) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if fdef.type in TEXT_TYPES and isinstance(value, str):
        return value.lower()
    if isinstance(value, bool | int | float | str | datetime | date):
        return value
    return value


def _equal(value: Any, literal: Literal, fdef: FieldDef) -> bool:
    if literal.kind == "null" or value is None:
        return value is None and literal.kind == "null"
    if fdef.type in ("id", "reference") and isinstance(literal.value, str):
        # Ids match in their 15- or 18-character forms.
        text = literal.value
        return bool(value == text or (len(text) == 15 and str(value)[:15] == text))
    return bool(_comparable(value, fdef) == _comparable(literal.value, fdef))


def run(state: OrgState, soql: str, *, include_deleted: bool) -> list[dict[str, Any]]:
    """The rows ``soql`` selects (dicts of the selected canonical fields, plus the object
    name under ``"attributes"``), or :class:`SoqlError`."""
    plan = _Plan(state, parse(soql))
    rows = [
        r
        for r in state.visible(plan.sobject, include_deleted=include_deleted)
        if plan.query.where is None or plan.matches(r, plan.query.where)
    ]
    if plan.order:
        rows.sort(key=plan.sort_key)
    if plan.query.limit is not None:
        rows = rows[: plan.query.limit]
    return [
        {"attributes": {"type": plan.sobject, "id": r["Id"]}} | _selected(plan, r) for r in rows
    ]


def _selected(plan: _Plan, record: dict[str, Any]) -> dict[str, Any]:
    """The selected fields of ``record``; a parent's under its relationship's name."""
    row: dict[str, Any] = {}
    for column in plan.columns:
        if column.lookup is None:
            row[column.fdef.name] = record.get(column.fdef.name)
            continue
        parent = column.parent_record(plan.state, record)
        name = column.relationship
        if parent is None:
            row[name] = None
            continue
        nested = row.get(name) or {"attributes": {"type": column.parent, "id": parent["Id"]}}
        nested[column.fdef.name] = parent.get(column.fdef.name)
        row[name] = nested
    return row
