"""A strict parser for the SOQL subset crmbridge sends, refusing the rest as Salesforce does.

Accepted::

    SELECT field[, field...] FROM SObject
    [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST][, ...]] [LIMIT n]

A condition compares a field with a literal (``= != <> < <= > >= LIKE``), tests
membership (``IN (...)``, ``NOT IN (...)``), negates (``NOT``) and groups with
parentheses. As in SOQL, ``AND`` and ``OR`` cannot be mixed at one level without
parentheses. Literals: strings in single quotes with SOQL's backslash escapes, numbers,
``true``/``false``/``null``, dates (``2024-01-31``) and datetimes with a zone
(``2024-01-31T10:00:00Z``, ``...+02:00``, fractional seconds allowed); never quoted.

A field may be a parent's field one lookup up (``Opportunity.IsWon`` on
OpportunityContactRole), in the field list, the conditions and the order.

Everything else (bind variables, functions, sub-queries, longer relationship paths,
date literals such as ``TODAY``, a second statement) is a :class:`SoqlError` with code
``MALFORMED_QUERY``. The scanner is a single left-to-right pass and nesting is bounded,
so any input is refused or accepted in linear time without deep recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import cast

#: Salesforce's limit on the length of a SOQL statement.
MAX_QUERY_LENGTH = 100_000
#: Deepest parenthesis nesting accepted (Salesforce refuses overly complex filters too).
MAX_NESTING = 40
#: The largest ``LIMIT`` Salesforce accepts in a query sent over the REST API.
MAX_LIMIT = 50_000_000

_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
     "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "TRUE", "FALSE", "NULL"}
)  # fmt: skip
_COMPARISONS = ("<=", ">=", "!=", "<>", "=", "<", ">")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?"
)
_NUMBER = re.compile(r"[+-]?\d{1,18}(?:\.\d{1,18})?")
_SPACE = re.compile(r"\s+")
# SOQL's escapes inside a quoted string; \_ and \% stay escaped for LIKE.
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b",
    "B": "\b", "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}  # fmt: skip


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` (``MALFORMED_QUERY``...) and message."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Literal:
    """A value in a condition: ``kind`` is string, like, number, boolean, null, date or
    datetime; ``value`` the Python value (a LIKE pattern keeps its escapes)."""

    kind: str
    value: object


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``; ``op`` is one of ``= != < <= > >= LIKE IN NOT IN``."""

    field: str
    op: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Junction:
    """Two or more conditions joined by one ``AND`` or ``OR``."""

    op: str
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    """``NOT condition``."""

    part: Condition


Condition = Comparison | Junction | Negation


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``ORDER BY`` key: ascending puts nulls first unless told otherwise."""

    field: str
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed SELECT: field and object names as written (matched case-insensitively)."""

    fields: tuple[str, ...]
    sobject: str
    where: Condition | None
    order: tuple[OrderKey, ...]
    limit: int | None


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, string, number, datetime, date, op, punct, end
    text: str
    pos: int
    value: object = None


def _read_string(text: str, start: int) -> tuple[_Token, int]:
    """The quoted string at ``start`` (on its opening quote) and the index after it."""
    out: list[str] = []
    like: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            return _Token(
                "string", text[start : i + 1], start, ("".join(out), "".join(like))
            ), i + 1
        if ch == "\\":
            if i + 1 >= n:
                break
            esc = text[i + 1]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                like.append("\\" + esc if esc == "\\" else _ESCAPES[esc])
            elif esc in "_%":
                # Only meaningful in LIKE; elsewhere Salesforce keeps the backslash.
                out.append("\\" + esc)
                like.append("\\" + esc)
            elif esc == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
                char = chr(int(text[i + 2 : i + 6], 16))
                out.append(char)
                like.append(char)
                i += 4
            else:
                raise SoqlError(f"Invalid string literal: bad escape \\{esc} at position {i}")
            i += 2
            continue
        if ch in "\n\r":
            # A raw line break cannot appear inside a SOQL string.
            raise SoqlError(f"Invalid string literal: line break at position {i}")
        out.append(ch)
        like.append(ch)
        i += 1
    raise SoqlError(f"unterminated string literal starting at position {start}")


def _read_datetime(match: re.Match[str], pos: int) -> _Token:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if hour is None:
            return _Token("date", match.group(0), pos, date(int(year), int(month), int(day)))
        offset = timedelta(0)
        if zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
            tzinfo=timezone(offset),
        )  # fmt: skip
    except ValueError as exc:
        raise SoqlError(f"invalid date or dateTime {match.group(0)!r} at position {pos}") from exc
    return _Token("datetime", match.group(0), pos, moment.astimezone(UTC))


def tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens in one pass; :class:`SoqlError` on anything unknown."""
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    depth = 0
    while i < n:
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        ch = text[i]
        if ch == "'":
            token, i = _read_string(text, i)
            tokens.append(token)
            continue
        if ch.isascii() and ch.isalpha():
            word = _IDENT.match(text, i)
            assert word is not None
            end = word.end()
            if end < n and text[end] == ".":
                # One step up a lookup (Opportunity.IsWon): a parent's field.
                parent = _IDENT.match(text, end + 1)
                if parent is not None and not (parent.end() < n and text[parent.end()] in "._"):
                    tokens.append(_Token("word", text[i : parent.end()], i))
                    i = parent.end()
                    continue
            if end < n and text[end] in "._":
                # Longer relationship paths (Account.Owner.Name) and names with odd
                # underscores are not part of what the sandbox answers.
                raise SoqlError(f"unexpected token {text[i : end + 1]!r} at position {i}")
            tokens.append(_Token("word", word.group(0), i))
            i = end
            continue
        if ch.isdigit() or (ch in "+-" and i + 1 < n and text[i + 1].isdigit()):
            when = _DATETIME.match(text, i)
            if when and ch.isdigit():
                tokens.append(_read_datetime(when, i))
                i = when.end()
                continue
            number = _NUMBER.match(text, i)
            if number is None:
                raise SoqlError(f"unexpected token at position {i}")
            try:
                value = Decimal(number.group(0))
            except InvalidOperation as exc:  # pragma: no cover - the pattern is decimal
                raise SoqlError(f"invalid number at position {i}") from exc
            tokens.append(_Token("number", number.group(0), i, value))
            i = number.end()
            continue
        op = next((o for o in _COMPARISONS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token("op", "!=" if op == "<>" else op, i))
            i += len(op)
            continue
        if ch in "(),":
            # Refuse runaway nesting while scanning, before building the rest.
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth > MAX_NESTING:
                raise SoqlError("the WHERE clause is nested too deeply")
            tokens.append(_Token("punct", ch, i))
            i += 1
            continue
        raise SoqlError(f"unexpected token {ch!r} at position {i}")
    tokens.append(_Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.upper() in words

    def expect_word(self, word: str) -> None:
        if not self.is_word(word):
            self.fail(f"expecting {word}")
        self.take()

    def expect_punct(self, char: str) -> None:
        token = self.peek()
        if token.kind != "punct" or token.text != char:
            self.fail(f"expecting '{char}'")
        self.take()

    def fail(self, what: str) -> None:
        token = self.peek()
        shown = token.text[:40] or "end of query"
        raise SoqlError(f"unexpected token: '{shown}' at position {token.pos} ({what})")

    def name(self) -> str:
        token = self.peek()
        if token.kind != "word" or token.text.upper() in _KEYWORDS:
            self.fail("expecting a field or object name")
        self.take()
        return token.text

    def query(self) -> Query:
        self.expect_word("SELECT")
        fields = [self.name()]
        while self.peek().kind == "punct" and self.peek().text == ",":
            self.take()
            fields.append(self.name())
        self.expect_word("FROM")
        at = self.peek()
        sobject = self.name()
        if "." in sobject:
            raise SoqlError(f"unexpected token: '{sobject[:40]}' at position {at.pos}")
        where = None
        if self.is_word("WHERE"):
            self.take()
            where = self.condition(0)
        order: list[OrderKey] = []
        if self.is_word("ORDER"):
            self.take()
            self.expect_word("BY")
            order.append(self.order_key())
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                order.append(self.order_key())
        limit = None
        if self.is_word("LIMIT"):
            self.take()
            token = self.take()
            if token.kind != "number" or not token.text.isdigit():
                self.at -= 1
                self.fail("expecting a non-negative integer")
            limit = int(token.text)
            if limit > MAX_LIMIT:
                raise SoqlError(f"LIMIT {limit} exceeds the maximum of {MAX_LIMIT}")
        if self.peek().kind != "end":
            self.fail("expecting the end of the query")
        return Query(tuple(fields), sobject, where, tuple(order), limit)

    def order_key(self) -> OrderKey:
        field = self.name()
        descending = False
        if self.is_word("ASC", "DESC"):
            descending = self.take().text.upper() == "DESC"
        nulls_first = not descending
        if self.is_word("NULLS"):
            self.take()
            if not self.is_word("FIRST", "LAST"):
                self.fail("expecting FIRST or LAST")
            nulls_first = self.take().text.upper() == "FIRST"
        return OrderKey(field, descending, nulls_first)

    def condition(self, depth: int) -> Condition:
        if depth > MAX_NESTING:
            raise SoqlError("the WHERE clause is nested too deeply", "MALFORMED_QUERY")
        parts = [self.factor(depth)]
        joiner: str | None = None
        while self.is_word("AND", "OR"):
            word = self.peek().text.upper()
            if joiner is not None and word != joiner:
                # SOQL refuses "a AND b OR c": mixed operators need parentheses.
                self.fail("AND and OR cannot be mixed without parentheses")
            joiner = word
            self.take()
            parts.append(self.factor(depth))
        if joiner is None:
            return parts[0]
        return Junction(joiner, tuple(parts))

    def factor(self, depth: int) -> Condition:
        if self.is_word("NOT"):
            self.take()
            return Negation(self.factor(depth + 1))
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.condition(depth + 1)
            self.expect_punct(")")
            return inner
        field = self.name()
        if self.is_word("IN"):
            self.take()
            return Comparison(field, "IN", self.value_list())
        if self.is_word("NOT"):
            self.take()
            self.expect_word("IN")
            return Comparison(field, "NOT IN", self.value_list())
        if self.is_word("LIKE"):
            self.take()
            token = self.take()
            if token.kind != "string":
                self.at -= 1
                self.fail("expecting a quoted LIKE pattern")
            _, pattern = cast(tuple[str, str], token.value)
            return Comparison(field, "LIKE", Literal("like", pattern))
        op = self.peek()
        if op.kind != "op":
            self.fail("expecting a comparison operator")
        self.take()
        return Comparison(field, op.text, self.value())

    def value_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        values = [self.value()]
        while self.peek().kind == "punct" and self.peek().text == ",":
            self.take()
            values.append(self.value())
        self.expect_punct(")")
        return tuple(values)

    def value(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            plain, _ = cast(tuple[str, str], token.value)
            return Literal("string", plain)
        if token.kind in ("number", "date", "datetime"):
            return Literal(token.kind, token.value)
        if token.kind == "word":
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE")
            if word == "NULL":
                return Literal("null", None)
        self.at -= 1
        self.fail("expecting a literal value")
        raise AssertionError("unreachable")  # pragma: no cover


def parse(text: str) -> Query:
    """Parse one SELECT statement or raise :class:`SoqlError` (``MALFORMED_QUERY``)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError(f"the query is longer than {MAX_QUERY_LENGTH:,} characters")
    if not text.strip():
        raise SoqlError("the query is empty")
    return _Parser(tokenize(text)).query()


def like_matches(pattern: str, value: str) -> bool:
    """SOQL LIKE (``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; any case).

    Matched with a linear dynamic programme over the pattern, never a backtracking regex.
    """
    items: list[str | None] = []  # None: %, "": _, else one literal character
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            items.append(pattern[i + 1].lower())
            i += 2
            continue
        items.append(None if ch == "%" else "" if ch == "_" else ch.lower())
        i += 1
    text = value.lower()

    def closed(states: list[bool]) -> list[bool]:
        # A % may match nothing: reaching it is reaching past it.
        for j, item in enumerate(items):
            if item is None and states[j]:
                states[j + 1] = True
        return states

    # states[j]: the first j pattern items match the text read so far.
    states = closed([True] + [False] * len(items))
    for ch in text:
        nxt = [False] * (len(items) + 1)
        for j, item in enumerate(items):
            if item is None:
                nxt[j + 1] = nxt[j + 1] or states[j + 1]
            elif states[j] and (item == "" or item == ch):
                nxt[j + 1] = True
        states = closed(nxt)
    return states[-1]
