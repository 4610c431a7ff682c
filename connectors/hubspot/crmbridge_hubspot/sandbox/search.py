"""The CRM search endpoints' semantics, as pure functions over record snapshots.

One set of rules serves every searchable object; an :class:`ObjectSearch` says what
differs (its property definitions, what a result shows, what ``query`` reads and which
``associations.<type>`` pseudo-properties it has). ``filterGroups`` are ORed and the
filters inside a group ANDed. Values compare by the property's type: datetimes and
dates as instants (filter values may be ms-epoch strings or ISO-8601), numbers
numerically, enumerations exactly (HubSpot documents them as case-sensitive; a
multiple-checkbox value ``A;B`` matches ``EQ A``), other strings case-insensitively. A
record without the property matches only ``NEQ``, ``NOT_IN`` and ``NOT_HAS_PROPERTY``.
``associations.contact`` ``EQ 1001`` keeps the records associated with contact 1001
(the sandbox takes no other operator there). Paging is by offset (``after`` = "10"...).

HubSpot's limits are enforced with a 400 ``VALIDATION_ERROR``: ``limit`` ≤ 200,
no page starting at or past result 10,000, at most 5 groups, 6 filters per group and
18 in all, one sort, and a body of at most 3,000 characters.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar

from crmbridge_hubspot.sandbox.records import Contact
from crmbridge_hubspot.sandbox.schema import DEFAULT_CONTACT_PROPERTIES, PropertyDef
from crmbridge_hubspot.sandbox.timeutil import iso_ms, parse_instant, to_ms
from crmbridge_hubspot.sandbox.wire import bad_request

MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_BODY_CHARS = 3_000
VALUE_OPERATORS = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE"})
LIST_OPERATORS = frozenset({"IN", "NOT_IN"})
TOKEN_OPERATORS = frozenset({"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"})
PRESENCE_OPERATORS = frozenset({"HAS_PROPERTY", "NOT_HAS_PROPERTY"})
OPERATORS = VALUE_OPERATORS | LIST_OPERATORS | TOKEN_OPERATORS | PRESENCE_OPERATORS | {"BETWEEN"}
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
TEXT_SEARCHED = ("firstname", "lastname", "email", "phone", "company", "website")
ASSOCIATION_PREFIX = "associations."


class Searchable(Protocol):
    """What search reads of a record (contacts and tasks alike)."""

    @property
    def id(self) -> str:
        """The record id (numeric text)."""

    @property
    def properties(self) -> Mapping[str, str]:
        """Property values by name."""

    @property
    def created_at(self) -> datetime:
        """``createdAt``."""

    @property
    def updated_at(self) -> datetime:
        """``updatedAt``."""


R = TypeVar("R", bound=Searchable)


@dataclass(frozen=True)
class ObjectSearch(Generic[R]):
    """What one object type's search endpoint knows about that type.

    ``associations`` maps an object type (``"contact"``) to the ids of the records of
    that type one record is associated with; each is an ``associations.<type>`` filter.
    """

    definitions: Mapping[str, PropertyDef]
    default_properties: tuple[str, ...] = ()
    always_returned: tuple[str, ...] = ()
    text_searched: tuple[str, ...] = ()
    associations: Mapping[str, Callable[[R], Collection[str]]] = field(default_factory=dict)


def contact_search(definitions: Mapping[str, PropertyDef]) -> ObjectSearch[Contact]:
    """Contact search over these property definitions."""
    return ObjectSearch(definitions, DEFAULT_CONTACT_PROPERTIES, ALWAYS_RETURNED, TEXT_SEARCHED)


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter of a group."""

    property: str
    operator: str
    value: str | None = None
    high_value: str | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sort:
    """The (single) sort rule."""

    property: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A validated search body."""

    groups: tuple[tuple[Filter, ...], ...]
    sort: Sort | None
    properties: tuple[str, ...]
    limit: int
    after: int
    query: str | None


def parse_search(raw: bytes, body: Any, definitions: Mapping[str, PropertyDef]) -> SearchRequest:
    """Validate a contact search body; HubSpotError (400) when it breaks a rule."""
    return parse_request(raw, body, contact_search(definitions))


def parse_request(raw: bytes, body: Any, target: ObjectSearch[Any]) -> SearchRequest:
    """Validate a ``PublicObjectSearchRequest``; HubSpotError (400) when it breaks a rule."""
    if len(raw.decode("utf-8", errors="replace")) > MAX_BODY_CHARS:
        raise bad_request(
            f"The request body is larger than {MAX_BODY_CHARS:,} characters; "
            "search requests are limited to 3,000 characters."
        )
    if not isinstance(body, Mapping):
        raise bad_request("Invalid input JSON: expected an object.")
    limit = _integer(body.get("limit", DEFAULT_LIMIT), "limit")
    if limit > MAX_LIMIT:
        raise bad_request(f"limit must be at most {MAX_LIMIT}; got {limit}.")
    after = _integer(body.get("after") or 0, "after")
    if after >= MAX_RESULTS:
        raise bad_request(
            f"Search results are limited to {MAX_RESULTS:,} per query; the after offset "
            f"{after} pages beyond that. Narrow the query (e.g. by lastmodifieddate)."
        )
    groups = _groups(body.get("filterGroups") or [], target)
    sort = _sort(body.get("sorts") or [], target.definitions)
    properties = body.get("properties") or []
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise bad_request("properties must be a list of property names.")
    query = body.get("query")
    if query is not None and not isinstance(query, str):
        raise bad_request("query must be a string.")
    return SearchRequest(groups, sort, tuple(properties), limit, after, query or None)


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer.")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"{name} must be an integer; got {value!r}.") from exc
    if number < 0:
        raise bad_request(f"{name} must not be negative.")
    return number


def _groups(raw: Any, target: ObjectSearch[Any]) -> tuple[tuple[Filter, ...], ...]:
    if not isinstance(raw, list):
        raise bad_request("filterGroups must be a list.")
    if len(raw) > MAX_GROUPS:
        raise bad_request(f"Too many filterGroups: {len(raw)} (at most {MAX_GROUPS}).")
    groups: list[tuple[Filter, ...]] = []
    total = 0
    for group in raw:
        filters = group.get("filters") if isinstance(group, Mapping) else None
        if not isinstance(filters, list):
            raise bad_request("Each filter group needs a filters list.")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise bad_request(
                f"Too many filters in a group: {len(filters)} (at most {MAX_FILTERS_PER_GROUP})."
            )
        total += len(filters)
        groups.append(tuple(_filter(f, target) for f in filters))
    if total > MAX_FILTERS:
        raise bad_request(f"Too many filters: {total} (at most {MAX_FILTERS} in all).")
    return tuple(groups)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filter(raw: Any, target: ObjectSearch[Any]) -> Filter:
    if not isinstance(raw, Mapping):
        raise bad_request("Each filter must be an object.")
    name = raw.get("propertyName")
    operator = raw.get("operator")
    if _association(name) in target.associations:
        return _association_filter(str(name), operator, raw.get("value"))
    definitions = target.definitions
    if not isinstance(name, str) or name not in definitions:
        raise bad_request(f"Property {name!r} does not exist and cannot be filtered on.")
    if operator not in OPERATORS:
        raise bad_request(f"Unknown operator {operator!r}; use one of {sorted(OPERATORS)}.")
    found = Filter(
        name,
        str(operator),
        _text(raw.get("value")),
        _text(raw.get("highValue")),
        tuple(str(v) for v in raw.get("values") or []),
    )
    if operator in VALUE_OPERATORS | TOKEN_OPERATORS and found.value is None:
        raise bad_request(f"Operator {operator} on {name} needs a value.")
    if operator == "BETWEEN" and (found.value is None or found.high_value is None):
        raise bad_request(f"BETWEEN on {name} needs value and highValue.")
    if operator in LIST_OPERATORS and not found.values:
        raise bad_request(f"Operator {operator} on {name} needs a non-empty values list.")
    definition = definitions[name]
    checked = () if operator in TOKEN_OPERATORS else (found.value, found.high_value, *found.values)
    for given in checked:
        if given is not None and _key(definition, given) is None:
            raise bad_request(f"{given!r} is not a valid {definition.type} for {name}.")
    return found


def _association(name: Any) -> str | None:
    """``contact`` for ``associations.contact``; None for a plain property name."""
    if isinstance(name, str) and name.startswith(ASSOCIATION_PREFIX):
        return name.removeprefix(ASSOCIATION_PREFIX)
    return None


def _association_filter(name: str, operator: Any, value: Any) -> Filter:
    """``associations.<type>`` ``EQ <record id>``: records associated with that record."""
    if operator != "EQ":
        raise bad_request(f"Operator {operator} is not supported on {name}; use EQ.")
    text = _text(value)
    if text is None or not text.strip().isdigit():
        raise bad_request(f"{name} needs a record id as its value; got {value!r}.")
    return Filter(name, "EQ", str(int(text)))


def _sort(raw: Any, definitions: Mapping[str, PropertyDef]) -> Sort | None:
    if not isinstance(raw, list):
        raise bad_request("sorts must be a list.")
    if not raw:
        return None
    if len(raw) > 1:
        raise bad_request("Only one sorting rule can be applied to a search.")
    item = raw[0]
    if isinstance(item, str):
        name, descending = item.lstrip("-"), item.startswith("-")
    elif isinstance(item, Mapping):
        name = str(item.get("propertyName", ""))
        direction = str(item.get("direction", "ASCENDING")).upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise bad_request(f"Sort direction {direction!r} must be ASCENDING or DESCENDING.")
        descending = direction == "DESCENDING"
    else:
        raise bad_request("A sort must be a property name or an object.")
    if name not in definitions:
        raise bad_request(f"Property {name!r} does not exist and cannot be sorted on.")
    return Sort(name, descending)


@lru_cache(maxsize=1 << 18)
def _instant_key(text: str) -> int | None:
    # Every search compares each record's stored instants again: parse each text once.
    moment = parse_instant(text)
    return to_ms(moment) if moment else None


def _key(definition: PropertyDef, text: str) -> Any:
    """A comparable form of ``text`` for the property's type, or None when invalid."""
    if definition.type in ("datetime", "date"):
        return _instant_key(text)
    if definition.type == "number":
        try:
            return float(text)
        except ValueError:
            return None
    if definition.type == "enumeration":
        return text
    return text.casefold()


def _matches(item: Filter, stored: str | None, definition: PropertyDef) -> bool:
    op = item.operator
    present = stored is not None and stored != ""
    if op == "HAS_PROPERTY":
        return present
    if op == "NOT_HAS_PROPERTY":
        return not present
    if not present or stored is None:
        return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    if op in TOKEN_OPERATORS:
        found = _token_match(stored, item.value or "")
        return found if op == "CONTAINS_TOKEN" else not found
    if definition.multi and op in ("EQ", "NEQ", "IN", "NOT_IN"):
        chosen = set(stored.split(";"))
        wanted = {item.value} if op in ("EQ", "NEQ") else set(item.values)
        hit = bool(chosen & wanted)
        return hit if op in ("EQ", "IN") else not hit
    mine = _key(definition, stored)
    if mine is None:
        return op in ("NEQ", "NOT_IN")
    if op in LIST_OPERATORS:
        hit = mine in {_key(definition, v) for v in item.values}
        return hit if op == "IN" else not hit
    low = _key(definition, item.value or "")
    if op == "BETWEEN":
        high = _key(definition, item.high_value or "")
        return bool(low <= mine <= high)
    return bool(
        {
            "EQ": mine == low,
            "NEQ": mine != low,
            "LT": mine < low,
            "LTE": mine <= low,
            "GT": mine > low,
            "GTE": mine >= low,
        }[op]
    )


def _token_match(stored: str, pattern: str) -> bool:
    pattern = pattern.casefold()
    text = stored.casefold()
    candidates = [text, *text.split()]
    if "*" in pattern:
        return any(fnmatch.fnmatchcase(c, pattern) for c in candidates)
    return pattern in candidates


def _text_match(record: Searchable, query: str, searched: Sequence[str]) -> bool:
    words: list[str] = []
    for name in searched:
        value = record.properties.get(name, "").casefold()
        words.append(value)
        words.extend(value.replace("@", " ").replace(".", " ").split())
    return all(any(w.startswith(term) for w in words) for term in query.casefold().split())


def _holds(item: Filter, record: R, target: ObjectSearch[R]) -> bool:
    kind = _association(item.property)
    if kind is not None:
        return item.value in target.associations[kind](record)
    definition = target.definitions[item.property]
    return _matches(item, record.properties.get(item.property), definition)


def matches(record: R, request: SearchRequest, target: ObjectSearch[R]) -> bool:
    """Whether ``record`` is a result of ``request``."""
    if request.query and not _text_match(record, request.query, target.text_searched):
        return False
    if not request.groups:
        return True
    return any(all(_holds(f, record, target) for f in g) for g in request.groups)


def _ordered(found: list[R], sort: Sort | None, definitions: Mapping[str, PropertyDef]) -> list[R]:
    by_id = sorted(found, key=lambda r: int(r.id))
    if sort is None:
        return by_id
    definition = definitions[sort.property]
    keyed: list[tuple[Any, R]] = []
    missing: list[R] = []
    for record in by_id:
        value = record.properties.get(sort.property)
        key = _key(definition, value) if value else None
        if key is None:
            missing.append(record)
        else:
            keyed.append((key, record))
    keyed.sort(key=lambda pair: pair[0], reverse=sort.descending)
    return [r for _, r in keyed] + missing


def modified_floor(request: SearchRequest, stamp: str = "lastmodifieddate") -> datetime | None:
    """The earliest ``stamp`` a result of ``request`` can have, when every filter group
    bounds it from below (an incremental read's query); None when some group does not."""
    floors: list[datetime] = []
    for group in request.groups:
        bounds = [
            parse_instant(f.value or "")
            for f in group
            if f.property == stamp and f.operator in ("EQ", "GT", "GTE", "BETWEEN")
        ]
        known = [b for b in bounds if b is not None]
        if not known:
            return None
        floors.append(max(known))
    return min(floors, default=None)


def run_search(
    request: SearchRequest,
    contacts: Sequence[Contact],
    definitions: Mapping[str, PropertyDef],
) -> dict[str, Any]:
    """The contact search response (see :func:`search_records`)."""
    return search_records(request, contacts, contact_search(definitions))


def search_records(
    request: SearchRequest, records: Sequence[R], target: ObjectSearch[R]
) -> dict[str, Any]:
    """The response body: ``total``, ``results`` and (when more remain) ``paging``."""
    found = [r for r in records if matches(r, request, target)]
    ordered = _ordered(found, request.sort, target.definitions)
    end = min(request.after + request.limit, MAX_RESULTS)
    page = ordered[request.after : end]
    requested = request.properties or target.default_properties
    known = [p for p in requested if p in target.definitions]
    names = list(dict.fromkeys([*known, *target.always_returned]))
    body: dict[str, Any] = {
        "total": len(ordered),
        "results": [_result(c, names) for c in page],
    }
    following = request.after + request.limit
    if following < len(ordered):
        body["paging"] = {"next": {"after": str(following)}}
    return body


def _result(record: Searchable, names: Sequence[str]) -> dict[str, Any]:
    return {
        "id": record.id,
        "properties": {n: record.properties.get(n) for n in names},
        "createdAt": iso_ms(record.created_at),
        "updatedAt": iso_ms(record.updated_at),
        "archived": False,
    }
