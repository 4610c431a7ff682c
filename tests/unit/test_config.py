"""The configuration loader: crmbridge.toml + ${ENV} secrets + CRMBRIDGE__A__B overrides.

Every problem is reported at once with its TOML path and a hint a RevOps admin can act
on; secrets never show; the file is found by --config, $CRMBRIDGE_CONFIG, ./crmbridge.toml
or else the bundled example.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from crmbridge.config import (
    config_json_schema,
    example_config_text,
    load_config,
    parse_config,
)
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.scoring.model import OPERATORS

SECRET = "pat-eu1-7f3a9c41-SECRET-d00dfeed"


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), source="test.toml")
    return caught.value.problems


def only(problems: list[ConfigProblem], path: str) -> ConfigProblem:
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, f"expected one problem at {path!r}, got {[str(p) for p in problems]}"
    return found[0]


# --- 1. the bundled example -------------------------------------------------------------


def test_bundled_example_is_valid_and_its_values_load() -> None:
    loaded = parse_config(example_config_text(), source="example")

    config = loaded.config
    assert config.scoring.hot_threshold == 100
    assert config.scoring.mql_threshold == 60
    assert config.scoring.reasons_shown == 5
    assert (config.scoring.grades.A, config.scoring.grades.B, config.scoring.grades.C) == (
        50,
        30,
        15,
    )
    assert config.scoring.groups["content"].max_points == 40
    [fit] = config.scoring.fit
    assert fit.name == "IT director at a company of more than 500 employees"
    assert fit.points == 50
    assert fit.when["numemployees"].gt == 500
    assert "directora de it" in (fit.when["jobtitle"].contains_any_word or [])
    assert [r.name for r in config.scoring.engagement] == [
        "Pricing page visit",
        "Case-study or guide download",
        "Webinar watched to the end",
        "Case-study click in a nurture email",
        "Reply to a sales email",
        "Demo meeting booked",
    ]
    assert config.scoring.engagement[4].event_types == ("email_reply",)
    assert config.scoring.engagement[0].max_points == 45
    assert config.scoring.engagement[0].window_days == 90
    assert config.scoring.engagement[1].where["asset_type"].in_ == ["case_study", "guide"]
    assert config.scoring.inactivity is not None
    assert (config.scoring.inactivity.after_days, config.scoring.inactivity.points) == (30, -10)
    assert config.bant.budget is not None
    assert config.bant.budget.qualified.in_ == ["approved"]
    assert config.bant.need is not None
    assert config.bant.need.qualified.exists is True
    assert config.lifecycle.opportunity_when["lifecyclestage"].eq == "opportunity"
    assert config.lifecycle.reactivation_after_days == 90
    assert config.bridge.timezone == "Europe/Madrid"
    assert config.daemon.port == 8080
    assert config.daemon.poll_interval == timedelta(minutes=5)
    assert config.connectors.hubspot.enabled is True
    assert config.connectors.hubspot.base_url == "https://api.hubapi.com"
    assert config.connectors.salesforce.enabled is False


def test_bundled_example_without_secrets_set_only_warns() -> None:
    loaded = parse_config(example_config_text())

    assert loaded.config.connectors.hubspot.access_token is None
    assert len(loaded.warnings) == 3
    joined = "\n".join(loaded.warnings)
    for name in ("CRMBRIDGE_INGEST_TOKEN", "HUBSPOT_ACCESS_TOKEN", "HUBSPOT_APP_SECRET"):
        assert name in joined


def test_repository_copy_of_the_example_matches_the_bundled_one() -> None:
    repo_copy = Path(__file__).resolve().parents[2] / "config.example.toml"
    assert repo_copy.read_text("utf-8") == example_config_text()


# --- 2. one bad file, one precise problem -----------------------------------------------

FIT_OK = """
[[scoring.fit]]
name = "Big company"
when = { numemployees = { gt = 500 } }
points = 20

[[scoring.fit]]
name = "Spain"
when = { country = "ES" }
points = 5
"""

BAD_CONFIGS = [
    pytest.param(
        """
        [scoring
        hot_threshold = 100
        """,
        "",
        ["not valid TOML", "line 2"],
        [],
        1,
        id="toml-syntax-error",
    ),
    pytest.param(
        FIT_OK
        + """
        [[scoring.fit]]
        name = "Mid-size"
        when = { numemployees = { greater = 100 } }
        points = 10
        """,
        "scoring.fit[2].when.numemployees",
        ['unknown operator "greater"'],
        ['did you mean "gt"?'],
        1,
        id="unknown-operator-greater",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "CIO"
        when = { jobtitle = { contains = "cio" } }
        pointz = 10
        """,
        "scoring.fit[0]",
        ['unknown key "pointz"'],
        ['did you mean "points"?'],
        2,  # and "scoring.fit[0].points: required key is missing"
        id="typo-key-in-rule",
    ),
    pytest.param(
        """
        [scorng]
        hot_threshold = 100
        """,
        "(top level)",
        ['unknown key "scorng"'],
        ['did you mean "scoring"?'],
        1,
        id="unknown-top-level-section",
    ),
    pytest.param(
        """
        [zzqx]
        hours = 4
        """,
        "(top level)",
        ['unknown key "zzqx"'],
        ["expected one of:", "scoring", "bant", "connectors"],
        1,
        id="unknown-section-no-close-match",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "CIO"
        when = { jobtitle = { contains = "cio" } }
        points = "ten"
        """,
        "scoring.fit[0].points",
        ["valid number", "'ten'"],
        [],
        1,
        id="wrong-type-points",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "CIO"
        points = 10
        """,
        "scoring.fit[0].when",
        ["required key is missing"],
        [],
        1,
        id="fit-rule-without-when",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "Corporate email"
        when = { email = { regex = "@(acme|globex\\\\.com$" } }
        points = 10
        """,
        "scoring.fit[0].when.email.regex",
        ["invalid regular expression", "missing )"],
        [],
        1,
        id="invalid-regex",
    ),
    pytest.param(
        """
        [scoring.groups.content]
        max_points = 40

        [[scoring.engagement]]
        name = "Guide download"
        event = "content_download"
        points = 10
        group = "contnet"
        """,
        "scoring.engagement[0].group",
        ['unknown group "contnet"'],
        ['did you mean "content"?'],
        1,
        id="engagement-unknown-group",
    ),
    pytest.param(
        """
        [[scoring.engagement]]
        name = "Webinar"
        event = "webinar_attended"
        points = 10
        group = "webinars"
        """,
        "scoring.engagement[0].group",
        ['unknown group "webinars"'],
        ["[scoring.groups.webinars]", "max_points"],
        1,
        id="engagement-group-never-defined",
    ),
    pytest.param(
        """
        [[scoring.engagement]]
        name = "Pricing page"
        event = "page_veiw"
        points = 15
        """,
        "scoring.engagement[0].event",
        ['unknown event type "page_veiw"'],
        ['did you mean "page_view"?', "scoring.custom_events"],
        1,
        id="unknown-event-type",
    ),
    pytest.param(
        """
        [[scoring.engagement]]
        name = "Any email activity"
        event = ["email_click", "emial_open"]
        points = 2
        """,
        "scoring.engagement[0].event",
        ['unknown event type "emial_open"'],
        ['did you mean "email_open"?'],
        1,
        id="unknown-event-type-in-list",
    ),
    pytest.param(
        """
        [[scoring.engagement]]
        name = "Pricing page"
        points = 15
        """,
        "scoring.engagement[0].event",
        ["required key is missing"],
        [],
        1,
        id="engagement-rule-without-event",
    ),
    pytest.param(
        FIT_OK
        + """
        [[scoring.fit]]
        name = "Big company"
        when = { numemployees = { gt = 1000 } }
        points = 10
        """,
        "scoring.fit[2].name",
        ['duplicate rule name "Big company"'],
        ["unique"],
        1,
        id="duplicate-rule-names",
    ),
    pytest.param(
        """
        [scoring.inactivity]
        after_days = 30
        points = 10
        """,
        "scoring.inactivity.points",
        ["less than 0", "(got 10)"],
        [],
        1,
        id="positive-inactivity-points",
    ),
    pytest.param(
        """
        [scoring.grades]
        A = 30
        B = 50
        C = 15
        """,
        "scoring.grades",
        ["fall from A to C", "A = 30, B = 50, C = 15"],
        ["A > B > C"],
        1,
        id="grades-out-of-order",
    ),
    pytest.param(
        """
        [bridge]
        timezone = "Europe/Madird"
        """,
        "bridge.timezone",
        ['unknown timezone "Europe/Madird"'],
        ["IANA", "Europe/Madrid"],
        1,
        id="unknown-timezone",
    ),
    pytest.param(
        """
        [daemon]
        poll_interval = "5 minutes"
        """,
        "daemon.poll_interval",
        ['invalid duration "5 minutes"'],
        ['"5m"', '"90s"'],
        1,
        id="bad-poll-interval",
    ),
    pytest.param(
        """
        [daemon]
        port = 70000
        """,
        "daemon.port",
        ["65535", "(got 70000)"],
        [],
        1,
        id="port-out-of-range",
    ),
    pytest.param(
        """
        [scoring]
        mql_threshold = 60
        hot_threshold = 50
        """,
        "scoring.hot_threshold",
        ["hot_threshold (50) is below mql_threshold (60)"],
        ["MQL"],
        1,
        id="hot-below-mql",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "Big company"
        when = { numemployees = {} }
        points = 20
        """,
        "scoring.fit[0].when.numemployees",
        ["empty condition"],
        ["operator", "gt = 500"],
        1,
        id="empty-condition",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "Anyone"
        when = {}
        points = 1
        """,
        "scoring.fit[0].when",
        ["must not be empty"],
        [],
        1,
        id="empty-when",
    ),
    pytest.param(
        """
        [[scoring.fit]]
        name = "CIO"
        when = "jobtitle contains cio"
        points = 10
        """,
        "scoring.fit[0].when",
        ["should be a table", "'jobtitle contains cio'"],
        [],
        1,
        id="when-not-a-table",
    ),
    pytest.param(
        """
        [bant]
        budget = { property = "crmbridge_budget", qualified = { greater = 10000 } }
        """,
        "bant.budget.qualified",
        ['unknown operator "greater"'],
        ['did you mean "gt"?'],
        1,
        id="bant-unknown-operator",
    ),
    pytest.param(
        """
        [bant.committee]
        roles = { economic_buyr = ["BUDGET_HOLDER"] }
        """,
        "bant.committee.roles.economic_buyr",
        ["'economic_buyer'", "(got 'economic_buyr')"],
        [],
        1,
        id="committee-unknown-role",
    ),
    pytest.param(
        """
        [connectors.hubspot]
        acess_token = "abc"
        """,
        "connectors.hubspot",
        ['unknown key "acess_token"'],
        ['did you mean "access_token"?'],
        1,
        id="connector-typo-key",
    ),
]


@pytest.mark.parametrize(("text", "path", "message_words", "hint_words", "count"), BAD_CONFIGS)
def test_bad_config_is_reported_with_path_and_hint(
    text: str, path: str, message_words: list[str], hint_words: list[str], count: int
) -> None:
    problems = problems_of(text)

    assert len(problems) == count, [str(p) for p in problems]
    problem = only(problems, path)
    for word in message_words:
        assert word in problem.message, str(problem)
    for word in hint_words:
        assert problem.hint is not None, str(problem)
        assert word in problem.hint, str(problem)


def test_problem_text_is_path_message_and_hint() -> None:
    problems = problems_of(
        FIT_OK
        + """
        [[scoring.fit]]
        name = "Mid-size"
        when = { numemployees = { greater = 100 } }
        points = 10
        """
    )

    assert [str(p) for p in problems] == [
        'scoring.fit[2].when.numemployees: unknown operator "greater" (did you mean "gt"?)'
    ]


def test_value_already_in_message_is_not_repeated() -> None:
    [problem] = problems_of('[bridge]\ntimezone = "Europe/Madird"\n')

    assert str(problem) == (
        'bridge.timezone: unknown timezone "Europe/Madird" '
        '(use an IANA name such as "Europe/Madrid")'
    )


# --- 3. every problem at once -----------------------------------------------------------


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    text = """
        [bridge]
        timezone = "Mars/Olympus"

        [daemon]
        poll_interval = "5 minutes"

        [bridg]
        database_url = "sqlite:///crm.db"

        [connectors.hubspot]
        enabeld = true
        acess_token = "abc"

        [[scoring.fit]]
        name = "Big company"
        when = { numemployees = { greater = 500 } }
        points = "ten"

        [bant]
        budget = { property = "crmbridge_budget", qualified = {} }
        """
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), source="crmbridge.toml")
    error = caught.value

    assert sorted(str(p) for p in error.problems) == sorted(
        [
            'bridge.timezone: unknown timezone "Mars/Olympus" '
            '(use an IANA name such as "Europe/Madrid")',
            'daemon.poll_interval: invalid duration "5 minutes" '
            '(write a number and a unit, e.g. "90s", "5m", "2h", "1d")',
            '(top level): unknown key "bridg" (did you mean "bridge"?)',
            'connectors.hubspot: unknown key "enabeld" (did you mean "enabled"?)',
            'connectors.hubspot: unknown key "acess_token" (did you mean "access_token"?)',
            'scoring.fit[0].when.numemployees: unknown operator "greater" (did you mean "gt"?)',
            "scoring.fit[0].points: input should be a valid number, "
            "unable to parse string as a number (got 'ten')",
            "bant.budget.qualified: empty condition "
            "(name at least one operator, e.g. { gt = 500 })",
        ]
    )
    text_lines = str(error).splitlines()
    assert text_lines[0] == "8 configuration problems in crmbridge.toml:"
    assert len(text_lines) == 1 + 8


def test_cross_checks_are_reported_alongside_other_sections_problems() -> None:
    problems = problems_of(
        """
        [bridge]
        timezone = "Mars/Olympus"

        [scoring]
        mql_threshold = 60
        hot_threshold = 40

        [[scoring.engagement]]
        name = "Pricing page"
        event = "page_veiw"
        points = 15
        """
    )

    assert sorted(p.path for p in problems) == [
        "bridge.timezone",
        "scoring.engagement[0].event",
        "scoring.hot_threshold",
    ]


# --- 4. environment: overrides and ${ENV} substitution -----------------------------------


def test_env_override_beats_the_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__SCORING__HOT_THRESHOLD", "120")

    loaded = parse_config("[scoring]\nmql_threshold = 70\nhot_threshold = 100\n")

    assert loaded.config.scoring.hot_threshold == 120
    assert loaded.config.scoring.mql_threshold == 70  # the rest of the table is kept


def test_nested_connector_override_keeps_the_rest_of_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", "http://x")

    loaded = parse_config(example_config_text())

    hubspot = loaded.config.connectors.hubspot
    assert hubspot.base_url == "http://x"
    assert hubspot.enabled is True
    assert loaded.config.scoring.fit[0].points == 50


def test_override_naming_an_unknown_section_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__SCORNG__HOT_THRESHOLD", "120")

    [problem] = problems_of(example_config_text())

    assert problem.path == "CRMBRIDGE__SCORNG__HOT_THRESHOLD"
    assert problem.message == 'unknown section "scorng"'
    assert problem.hint == 'did you mean "scoring"?'


def test_override_problems_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__SCORING__HOT_THRESHOLDD", "120")
    monkeypatch.setenv("CRMBRIDGE__DAEMON__PORT", "eighty")

    problems = problems_of("[scoring]\nhot_threshold = 100\n")

    assert sorted(str(p) for p in problems) == [
        "CRMBRIDGE__DAEMON__PORT: input should be a valid integer, "
        "unable to parse string as an integer (got 'eighty')",
        'CRMBRIDGE__SCORING__HOT_THRESHOLDD: unknown key "hot_thresholdd" '
        '(did you mean "hot_threshold"?)',
    ]


def test_override_is_cross_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__SCORING__HOT_THRESHOLD", "50")

    [problem] = problems_of("[scoring]\nmql_threshold = 60\n")

    assert problem.path == "scoring.hot_threshold"
    assert "hot_threshold (50) is below mql_threshold (60)" in problem.message


def test_env_reference_is_substituted_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("DB_PASSWORD", "s3cret-db")

    loaded = parse_config(
        dedent(
            """
            [bridge]
            database_url = "postgresql+psycopg://crm:${DB_PASSWORD}@db:5432/crm"

            [connectors.hubspot]
            access_token = "${HUBSPOT_ACCESS_TOKEN}"
            """
        )
    )

    assert loaded.warnings == []
    assert loaded.config.bridge.database_url == "postgresql+psycopg://crm:s3cret-db@db:5432/crm"
    token = loaded.config.connectors.hubspot.access_token
    assert token is not None
    assert token.get_secret_value() == SECRET


def test_env_reference_unset_warns_and_leaves_the_key_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)

    loaded = parse_config('[connectors.hubspot]\naccess_token = "${HUBSPOT_ACCESS_TOKEN}"\n')

    assert loaded.config.connectors.hubspot.access_token is None
    assert loaded.warnings == [
        "connectors.hubspot.access_token: environment variable HUBSPOT_ACCESS_TOKEN "
        "is not set; the setting is left empty"
    ]


# --- 5. secrets never show ----------------------------------------------------------------


def test_secret_is_absent_from_every_rendering_of_the_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", SECRET)

    loaded = parse_config(example_config_text())

    config = loaded.config
    token = config.connectors.hubspot.access_token
    assert token is not None
    assert token.get_secret_value() == SECRET  # it was loaded ...
    for rendering in (  # ... and never shown
        repr(config),
        str(config),
        config.model_dump_json(),
        str(config.model_dump()),
        repr(loaded),
        repr(config.connectors.hubspot),
        "\n".join(loaded.warnings),
    ):
        assert SECRET not in rendering


def test_secret_is_absent_from_the_errors_of_a_broken_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__APP_SECRET", SECRET)
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__APP_SECRT", SECRET)
    broken = example_config_text().replace(
        'access_token = "${HUBSPOT_ACCESS_TOKEN}"',
        'access_token = "${HUBSPOT_ACCESS_TOKEN}"\n'
        'acess_token = "${HUBSPOT_ACCESS_TOKEN}"\n'
        'enabled_ = "${HUBSPOT_ACCESS_TOKEN}"',
    )
    broken = broken.replace("hot_threshold = 100", 'hot_threshold = "hot"')
    assert broken.count("${HUBSPOT_ACCESS_TOKEN}") == 3

    with pytest.raises(ConfigError) as caught:
        parse_config(broken, source="crmbridge.toml")
    error = caught.value

    assert len(error.problems) == 4, str(error)
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert SECRET not in (error.detail or "")
    for problem in error.problems:
        assert SECRET not in repr(problem)


# --- 6. where the file comes from -----------------------------------------------------------


def write(path: Path, hot: int) -> Path:
    path.write_text(f"[scoring]\nhot_threshold = {hot}\n", "utf-8")
    return path


def test_explicit_path_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write(tmp_path / "explicit.toml", 111)
    monkeypatch.setenv("CRMBRIDGE_CONFIG", str(write(tmp_path / "from-env.toml", 112)))
    write(tmp_path / "crmbridge.toml", 113)

    loaded = load_config(explicit)

    assert loaded.config.scoring.hot_threshold == 111
    assert loaded.source == str(explicit)


def test_crmbridge_config_env_beats_the_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = write(tmp_path / "from-env.toml", 112)
    monkeypatch.setenv("CRMBRIDGE_CONFIG", str(from_env))
    write(tmp_path / "crmbridge.toml", 113)

    loaded = load_config()

    assert loaded.config.scoring.hot_threshold == 112
    assert loaded.source == str(from_env)


def test_local_crmbridge_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "crmbridge.toml", 113)
    monkeypatch.chdir(tmp_path)

    loaded = load_config()

    assert loaded.config.scoring.hot_threshold == 113
    assert loaded.source == "crmbridge.toml"


def test_bundled_example_when_nothing_else_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)

    loaded = load_config()

    assert "bundled" in loaded.source
    assert loaded.config.scoring.hot_threshold == 100
    assert (
        loaded.config.scoring.fit[0].name == "IT director at a company of more than 500 employees"
    )


def test_missing_explicit_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "crmbridge.toml"

    with pytest.raises(ConfigError) as caught:
        load_config(missing)

    assert str(missing) in str(caught.value)
    assert "No such file" in str(caught.value)


def test_missing_file_named_by_crmbridge_config_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "typo.toml"
    monkeypatch.setenv("CRMBRIDGE_CONFIG", str(missing))

    with pytest.raises(ConfigError) as caught:
        load_config()

    assert str(missing) in str(caught.value)


def test_file_not_in_utf8_is_a_config_error(tmp_path: Path) -> None:
    latin1 = tmp_path / "crmbridge.toml"
    latin1.write_bytes('[bridge]\ntimezone = "Europe/Madrid"  # Tecnología\n'.encode("latin-1"))

    with pytest.raises(ConfigError) as caught:
        load_config(latin1)

    [problem] = caught.value.problems
    assert "UTF-8" in problem.message
    assert str(latin1) in str(caught.value)


def test_problems_in_a_loaded_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crmbridge.toml"
    path.write_text('[bridge]\ntimezone = "Nowhere/City"\n', "utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"1 configuration problem in {path}:")


# --- 7. the JSON Schema for editors ---------------------------------------------------------


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = schema["$defs"][name]
    return node


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_errors(schema: dict[str, Any], node: dict[str, Any], value: Any, at: str) -> list[str]:
    """A small JSON Schema check: the keywords pydantic emits for this config."""
    node = resolve(schema, node)
    if "anyOf" in node:
        branches = [schema_errors(schema, b, value, at) for b in node["anyOf"]]
        return [] if any(not b for b in branches) else [f"{at}: no anyOf branch matches"]
    errors: list[str] = []
    kinds = node.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES[k](value) for k in kinds):
            return [f"{at}: {value!r} is not {kinds}"]
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{at}: {value!r} not in {node['enum']}")
    if isinstance(value, str) and "pattern" in node and not re.search(node["pattern"], value):
        errors.append(f"{at}: {value!r} does not match {node['pattern']}")
    if isinstance(value, dict):
        props = node.get("properties", {})
        errors += [f"{at}.{k}: required" for k in node.get("required", []) if k not in value]
        for key, item in value.items():
            if "propertyNames" in node:
                errors += schema_errors(schema, node["propertyNames"], key, f"{at}.{key}")
            if key in props:
                errors += schema_errors(schema, props[key], item, f"{at}.{key}")
            elif node.get("additionalProperties") is False:
                errors.append(f"{at}.{key}: not allowed")
            elif isinstance(node.get("additionalProperties"), dict):
                errors += schema_errors(schema, node["additionalProperties"], item, f"{at}.{key}")
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            errors += schema_errors(schema, node["items"], item, f"{at}[{i}]")
    return errors


def test_json_schema_describes_the_sections_and_operators() -> None:
    schema = json.loads(json.dumps(config_json_schema()))  # plain JSON, round-trips

    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    for section in ("scoring", "bant", "connectors", "bridge", "daemon", "lifecycle"):
        assert section in schema["properties"]
    condition = resolve(schema, {"$ref": "#/$defs/Condition"})
    [table] = [b for b in condition["anyOf"] if b.get("type") == "object"]
    assert set(table["properties"]) == set(OPERATORS)
    assert "in" in table["properties"]
    assert '"in_"' not in json.dumps(schema)  # the Python name never leaks as a key
    assert table["additionalProperties"] is False
    scoring = resolve(schema, schema["properties"]["scoring"])
    assert {"hot_threshold", "mql_threshold", "fit", "engagement"} <= set(scoring["properties"])
    for ref in re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(schema)):
        assert ref in schema["$defs"]


def test_json_schema_accepts_the_bundled_example_as_written() -> None:
    schema = config_json_schema()
    raw = tomllib.loads(example_config_text())

    assert schema_errors(schema, schema, raw, "") == []


def test_json_schema_rejects_what_the_loader_rejects() -> None:
    schema = config_json_schema()
    raw = tomllib.loads(example_config_text())
    raw["scorng"] = {}
    raw["daemon"]["poll_interval"] = "PT5M"
    raw["scoring"]["fit"][0]["when"]["numemployees"] = {"greater": 500}

    errors = schema_errors(schema, schema, raw, "")

    assert ".scorng: not allowed" in errors
    assert any(e.startswith(".daemon.poll_interval:") for e in errors)
    assert any(e.startswith(".scoring.fit[0].when.numemployees:") for e in errors)


def test_json_schema_durations_are_written_as_the_loader_reads_them() -> None:
    daemon = resolve(config_json_schema(), {"$ref": "#/$defs/DaemonSettings"})
    poll = daemon["properties"]["poll_interval"]

    assert poll["default"] == "5m"
    loaded = parse_config(f'[daemon]\npoll_interval = "{poll["default"]}"\n')
    assert loaded.config.daemon.poll_interval == timedelta(minutes=5)


@pytest.mark.parametrize("token", ["short", " " * 40, "0123456789abcde"])
def test_a_guessable_dashboard_token_is_refused_without_quoting_it(token: str) -> None:
    problem = only(problems_of(f'[daemon]\nui_token = "{token}"\n'), "daemon.ui_token")

    assert "at least 16 characters" in str(problem)
    if token.strip():
        assert token not in str(problem)


def test_a_long_dashboard_token_is_accepted() -> None:
    loaded = parse_config('[daemon]\nui_token = "0123456789abcdef"\n', source="test.toml")

    assert loaded.config.daemon.ui_token is not None


def test_a_malformed_secret_is_refused_without_quoting_it() -> None:
    leaked = "ftp://hooks.example.com/T000/B000/XXXXsecretXXXX"
    problem = only(problems_of(f'[alerts]\nwebhook_url = "{leaked}"\n'), "alerts.webhook_url")

    assert "XXXXsecretXXXX" not in str(problem)


def test_a_table_refused_as_a_whole_never_quotes_its_secrets() -> None:
    password = "Sup3rSecretSmtpPw!"
    problem = only(
        problems_of(
            f'[report]\nenabled = true\n[report.smtp]\npassword = "{password}"\n'
            'host = "mail.example.com"\nsender = "crm@example.com"\n'
        ),
        "report",
    )

    assert "folder is required" in str(problem)
    assert password not in str(problem)


@pytest.mark.parametrize(
    ("host", "refused"), [("mail.example.com", True), ("localhost", False), ("127.0.0.1", False)]
)
def test_an_smtp_login_without_tls_is_refused_unless_the_relay_is_local(
    host: str, refused: bool
) -> None:
    text = (
        '[report.smtp]\nsecurity = "none"\nusername = "crm"\n'
        f'host = "{host}"\nsender = "crm@example.com"\n'
    )
    if refused:
        assert "unencrypted" in str(only(problems_of(text), "report.smtp"))
    else:
        assert parse_config(text, source="test.toml").config.report.smtp is not None


@pytest.mark.parametrize(
    "url", ["crmbridge.acme.es", "ftp://crmbridge.acme.es", "https://", "https://x.es/?a=1"]
)
def test_a_public_url_that_is_no_http_base_url_is_refused_at_its_path(url: str) -> None:
    problem = only(problems_of(f'[daemon]\npublic_url = "{url}"\n'), "daemon.public_url")

    assert "not an http:// or https:// base URL" in str(problem)


def test_a_public_url_behind_a_proxy_is_accepted() -> None:
    loaded = parse_config('[daemon]\npublic_url = " https://crm.acme.es/ "\n', source="t.toml")

    assert loaded.config.daemon.public_url == "https://crm.acme.es/"
