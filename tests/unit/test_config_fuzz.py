"""Random configs through the loader: a valid config or a ConfigError, nothing else.

Hypothesis writes TOML files that set random known keys (every setting crmbridge has,
found by walking the config model) to random values — huge and non-finite numbers,
booleans, durations, URLs, ``${VAR}`` references, nested lists and tables — sometimes
with a random ``CRMBRIDGE__*`` override beside them. ``parse_config`` must answer with a
loaded config or a ConfigError whose every problem has a message; any other exception
is a crash an admin would see as a traceback.
"""

from __future__ import annotations

import math
import os
import types
import typing
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from crmbridge.config import CrmbridgeConfig, LoadedConfig, parse_config
from crmbridge.errors import ConfigError
from tests.integration.reliability.configs import toml_key, toml_value

Path = tuple[str | int, ...]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _fields(model: type[BaseModel], prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, annotation) of every key of ``model``, tables included; a list is entered
    through its first item (index 0), a map through a key named ``x``."""
    for name, field in model.model_fields.items():
        path: Path = (*prefix, field.alias or name)
        annotation = field.annotation
        yield path, annotation
        union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        for member in typing.get_args(annotation) if union else (annotation,):
            origin, args = typing.get_origin(member), typing.get_args(member)
            if (nested := _model_of(member)) is not None:
                inner = path
            elif origin is list and (nested := _model_of(args[0])) is not None:
                inner = (*path, 0)
            elif origin is dict and (nested := _model_of(args[1])) is not None:
                inner = (*path, "x")
            if nested is not None and nested is not model:
                yield from _fields(nested, inner)


def _numeric(annotation: Any) -> bool:
    """Does the setting hold a number or a duration (where the crashes were)?"""
    text = repr(annotation)
    return any(word in text for word in ("int", "float", "timedelta"))


FIELDS = dict(_fields(CrmbridgeConfig))
KNOWN = sorted(FIELDS)
NUMERIC = sorted(path for path, annotation in FIELDS.items() if _numeric(annotation))

WORDS = [
    "5m",
    "0s",
    "-1",
    "99999999999999d",
    "1e308",
    "366d",
    "500ms",
    "",
    "not a url",
    "sqlite:///crmbridge.db",
    "sqlite:////no/such/folder/x.db",
    "mysql://crm@db/crm",
    "postgresql://crm@db/crm",
    "${UNSET_FUZZ_VARIABLE}",
    "${HOME}",
    "09:00-18:00",
    "18:00-09:00",
    "Europe/Madrid",
    "Mars/Olympus",
    "page_view",
    "hot",
    "sql",
    "round_robin",
    "[a-",
    "crmbridge",
]

EDGES = [0, 1, -1, -300, 65535, 65536, 2**63, 10**400, math.nan, math.inf, -math.inf, 1e308]

durations = st.builds(
    "{}{}".format,
    st.sampled_from([0, 1, 0.5, 99999999999999, 10**20, 1e300]) | st.integers(0, 10**6),
    st.sampled_from(["ms", "s", "m", "h", "d", ""]),
)
scalars = st.one_of(
    st.sampled_from(WORDS),
    durations,
    st.sampled_from(EDGES),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
)
keys = st.sampled_from(sorted({path[-1] for path in KNOWN})) | st.text(min_size=1, max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


def _for(path: Path) -> st.SearchStrategy[tuple[Path, Any]]:
    """``path`` with a value: any value, or (twice as often) one of the kind it takes."""
    text = repr(FIELDS[path])
    if "timedelta" in text:
        typed: st.SearchStrategy[Any] = durations | st.sampled_from(EDGES)
    elif _numeric(FIELDS[path]):
        typed = st.sampled_from(EDGES) | st.floats() | st.integers()
    else:
        typed = st.sampled_from(WORDS)
    return st.tuples(st.just(path), st.one_of(typed, typed, values))


assignment = (st.sampled_from(KNOWN) | st.sampled_from(NUMERIC)).flatmap(_for)


def _place(root: dict[str, Any], path: Path, value: Any) -> None:
    """Set ``path`` in ``root``, creating tables and one-item lists on the way; dropped
    when a value set earlier sits on the way."""
    node: Any = root
    for part, after in pairwise(path):
        if isinstance(part, int):
            node = node[0] if isinstance(node, list) and node else None
        elif isinstance(node, dict):
            node = node.setdefault(part, [{}] if isinstance(after, int) else {})
        else:
            node = None
        if node is None:
            return
    if isinstance(node, dict) and isinstance(path[-1], str):
        node[path[-1]] = value


def _document(assignments: list[tuple[Path, Any]]) -> str:
    """The assignments as one TOML line per top-level table (inline tables and arrays)."""
    root: dict[str, Any] = {}
    for path, value in assignments:
        _place(root, path, value)
    return "".join(f"{toml_key(key)} = {toml_value(value)}\n" for key, value in root.items())


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    assignments=st.lists(assignment, max_size=6),
    override=st.none() | st.tuples(st.sampled_from(KNOWN), scalars.map(str)),
)
def test_random_config_loads_or_is_a_config_error(
    assignments: list[tuple[Path, Any]], override: tuple[Path, str] | None
) -> None:
    text = _document(assignments)
    variable = "CRMBRIDGE__" + "__".join(map(str, override[0])).upper() if override else None
    if override and variable:
        os.environ[variable] = override[1].replace("\x00", "")
    try:
        outcome: LoadedConfig | ConfigError = parse_config(text, source="fuzz.toml")
    except ConfigError as exc:
        outcome = exc
    finally:
        if variable:
            os.environ.pop(variable, None)

    if isinstance(outcome, ConfigError):
        assert outcome.problems
        assert all(problem.message for problem in outcome.problems)
    else:
        assert isinstance(outcome.config, CrmbridgeConfig)


def test_the_fuzzer_knows_the_settings_of_every_table() -> None:
    known = {".".join(map(str, path)) for path in NUMERIC}

    for path in (
        "daemon.poll_interval",
        "outbox.lease",
        "scoring.fit.0.points",
        "scoring.engagement.0.window_days",
        "sla.stages.x.within",
        "triggers.0.when.event.within_days",
    ):
        assert path in known
