"""Generated ``crmbridge.toml`` files: the bundled example with values broken on purpose.

A :class:`Mutation` sets one value at a TOML path (or one ``CRMBRIDGE__*`` environment
override). Those in :data:`KNOWN_BAD` must be refused with a problem labelled with
their path; :data:`KNOWN_GOOD` must load; random ones may do either, but only ever as
a :class:`~crmbridge.errors.ConfigError`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from crmbridge.config import example_config_text

from .absurd import HUGE_400, HUGE_5000, ODD_TEXT, SPACED_60K

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Toml:
    """TOML text written as it is (an integer too long for ``str(int)``)."""

    text: str


@dataclass(frozen=True)
class Mutation:
    """One value set at ``path`` (TOML), or one environment variable set."""

    path: Path = ()
    value: Any = None
    env: tuple[str, str] | None = None
    #: The path (or variable) a refusal must name, as the start of a problem's path.
    names: str = ""

    def __repr__(self) -> str:
        if self.env:
            return f"env {self.env[0]}={self.env[1][:40]!r}"
        shown = repr(self.value)
        return f"{_dotted(self.path)} = {shown[:60]}{'…' if len(shown) > 60 else ''}"


@dataclass
class GeneratedConfig:
    """A config's text, the environment it is read with, and what must happen."""

    text: str
    env: dict[str, str] = field(default_factory=dict)
    mutations: list[Mutation] = field(default_factory=list)
    verdict: str = "either"  # "valid", "invalid" or "either"

    def __repr__(self) -> str:
        shown = self.mutations or f"{self.text[:60]!r} ({len(self.text)} characters)"
        return f"<{self.verdict} config: {shown}>"

    def must_name(self) -> list[str]:
        """Paths that a refusal must label (the known-bad mutations')."""
        return [m.names for m in self.mutations if m.names]


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _section(mutation: Mutation) -> str:
    if mutation.env:
        return mutation.env[0].split("__")[1].lower()
    return str(mutation.path[0])


def bad(path: Path, value: Any, names: str | None = None) -> Mutation:
    return Mutation(path, value, names=names if names is not None else _dotted(path))


def bad_env(name: str, value: str) -> Mutation:
    return Mutation(env=(name, value), names=name)


UNSET = "CRMBRIDGE_FUZZ_NEVER_SET"
KNOWN_BAD = (
    bad(("daemon", "poll_interval"), "99999999999999d"),
    bad(("daemon", "poll_interval"), -1),
    bad(("daemon", "poll_interval"), "0s"),
    bad(("daemon", "poll_interval"), "5 parsecs"),
    bad(("daemon", "drain_interval"), -10),
    bad(("ingest", "max_future_skew"), -300),
    bad(("outbox", "lease"), -1),
    bad(("outbox", "backoff_initial"), "2h", names="outbox"),  # > backoff_max (1h)
    bad(("daemon", "port"), True),
    bad(("daemon", "port"), 0),
    bad(("daemon", "port"), 70_000),
    bad(("daemon", "port"), "8080x"),
    bad(("bridge", "database_url"), "mysql://root@localhost/crm"),
    bad(("bridge", "database_url"), ""),
    bad(("bridge", "database_url"), "not a url"),
    bad(("bridge", "database_url"), "${" + UNSET + "}"),
    bad(("bridge", "timezone"), "Mars/Olympus_Mons"),
    bad(("bridge", "timezone"), "America"),  # a folder of the time zone database
    bad(("bridge", "timezone"), "x" * 300),  # longer than a file name may be
    bad(("scoring", "fit", 0, "points"), math.nan),
    bad(("scoring", "fit", 0, "points"), math.inf),
    bad(("scoring", "fit", 0, "points"), 1e308),
    bad(("scoring", "engagement", 0, "window_days"), math.inf),
    bad(("scoring", "engagement", 0, "window_days"), math.nan),
    bad(("scoring", "mql_threshold"), "sixty"),
    bad(("scoring", "mql_threshold"), math.nan),
    bad(("scoring", "fit", 0, "when"), {"jobtitle": {"frobnicate": 1}}),
    bad(("scoring", "engagement", 1, "event"), 5),
    bad(("lifecycle",), [1, 2]),
    bad(("daemon", "pol_interval"), "5m", names="daemon"),
    bad_env("CRMBRIDGE__DAEMON", "notjson"),
    bad_env("CRMBRIDGE__DAEMON__PORT", "abc"),
    bad_env("CRMBRIDGE__DAEMON__POLL_INTERVAL", "-1"),
    bad_env("CRMBRIDGE__SCORING__MQL_THRESHOLD", "nan"),
    bad_env("CRMBRIDGE__NOPE", "1"),
    # Bytes that are not UTF-8 in the environment arrive as lone surrogates.
    bad_env("CRMBRIDGE__BRIDGE__TIMEZONE", "Europe/\udcff"),
)
#: Refused only when a command opens the store (subprocess runs).
KNOWN_BAD_AT_RUN = (
    bad(("bridge", "database_url"), "sqlite:////nonexistent/fuzz/dir/crmbridge.db"),
    bad(("bridge", "database_url"), "postgresql+psycopg://fuzz@127.0.0.1:1/crmbridge"),
)
KNOWN_GOOD = (
    Mutation(("daemon", "poll_interval"), "90s"),
    Mutation(("daemon", "port"), 8081),
    Mutation(("scoring", "mql_threshold"), 55),
    Mutation(("scoring", "fit", 0, "name"), "مدير 🚀 Dire\u0301ctor"),
    Mutation(("scoring", "fit", 0, "points"), 10.5),
    Mutation(("scoring", "fit", 0, "points"), -0.0),
    Mutation(("bridge", "timezone"), "UTC"),
    Mutation(("outbox", "max_attempts"), 3),
)
DEEP_ARRAY = Toml("[" * 5_000 + "]" * 5_000)
DEEP_TABLE = Toml("{a = " * 3_000 + "1" + "}" * 3_000)
BROKEN_TOML = (
    "[[[",
    "a = ",
    "key = 1\nkey = 2",
    "\x00",
    "[scoring]\nfit = [",
    '"\\ud800" = 1',
    f"[daemon]\nport = {DEEP_ARRAY.text}",
    f"[scoring]\nfit = {DEEP_TABLE.text}",
)

_absurd_values = st.sampled_from(
    [
        Toml(HUGE_400),
        Toml("-" + HUGE_400),
        Toml(HUGE_5000),
        DEEP_ARRAY,
        DEEP_TABLE,
        math.nan,
        math.inf,
        -math.inf,
        -0.0,
        1e308,
        -1,
        0,
        True,
        "",
        SPACED_60K,
        "x" * 10_000,
        "nul \x00 inside",
        *ODD_TEXT[:8],
        [],
        {},
        [1, "a", True],
        {"a": {"b": {"c": {"d": 1}}}},
        "${" + UNSET + "}",
        "2026-13-45",
    ]
)


def example_data() -> dict[str, Any]:
    """The bundled example as data (it is valid)."""
    return tomllib.loads(example_config_text())


def leaf_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every scalar (or list of scalars) of ``value``, as a path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))
    else:
        yield path


def apply(data: dict[str, Any], mutation: Mutation) -> None:
    """Set ``mutation.value`` at its path in ``data`` (tables are made as needed)."""
    if not mutation.path:
        return
    target: Any = data
    for part in mutation.path[:-1]:
        if isinstance(part, int):
            target = target[part]
        else:
            if not isinstance(target.get(part), dict | list):
                target[part] = {}
            target = target[part]
    target[mutation.path[-1]] = mutation.value


def toml_key(name: str | int) -> str:
    """A table key as TOML (always quoted, so any text is a key)."""
    return _string(str(name))


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A value as TOML (tables inline, so any nesting fits on one line)."""
    if isinstance(value, Toml):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(data: dict[str, Any]) -> str:
    """A document of one inline table per top-level key."""
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in data.items())


def build(mutations: list[Mutation], verdict: str) -> GeneratedConfig:
    """The example with ``mutations`` applied."""
    data = example_data()
    env: dict[str, str] = {}
    for mutation in mutations:
        if mutation.env:
            env[mutation.env[0]] = mutation.env[1]
        else:
            apply(data, mutation)
    return GeneratedConfig(to_toml(data), env, list(mutations), verdict)


def configs() -> st.SearchStrategy[GeneratedConfig]:
    """Known-bad, known-good, random and unparsable configs."""
    paths = sorted(set(leaf_paths(example_data())), key=_dotted)
    random_mutation = st.builds(Mutation, st.sampled_from(paths), _absurd_values)
    # One known-bad value per section: two in one table could hide each other.
    known_bad = st.lists(st.sampled_from(KNOWN_BAD), min_size=1, max_size=3, unique_by=_section)
    known_good = st.lists(st.sampled_from(KNOWN_GOOD), max_size=3, unique_by=lambda m: m.path)
    return st.one_of(
        known_bad.map(lambda ms: build(ms, "invalid")),
        known_good.map(lambda ms: build(ms, "valid")),
        st.lists(random_mutation, min_size=1, max_size=3).map(lambda ms: build(ms, "either")),
        st.lists(random_mutation, min_size=1, max_size=3).map(lambda ms: build(ms, "either")),
        st.sampled_from(BROKEN_TOML).map(lambda text: GeneratedConfig(text, verdict="invalid")),
    )
