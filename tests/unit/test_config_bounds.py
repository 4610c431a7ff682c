"""Bad values that used to crash crmbridge or slip through: each is a path-labelled error.

Overflowing durations, non-finite or absurd numbers, meaningless intervals, booleans
taken for numbers, unsupported or unopenable databases, environment overrides that are
not JSON, ``${VAR}`` references to unset variables. Every case names the TOML path (or
the variable) it is about; loading never ends in another exception.
"""

from __future__ import annotations

import socket
from pathlib import Path
from textwrap import dedent

import pytest

from crmbridge.config import load_config, parse_config
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.store.db import make_engine

FIT = '[[scoring.fit]]\nname = "Big"\nwhen = {{ numemployees = {{ gt = 500 }} }}\npoints = {}\n'
ENGAGEMENT = '[[scoring.engagement]]\nname = "Pricing"\nevent = "page_view"\npoints = 5\n{}\n'


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), source="test.toml")
    return caught.value.problems


def the_problem(text: str) -> ConfigProblem:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# (TOML, path of the one problem, words of its message)
BAD_VALUES = [
    # durations: overflow, negative, zero where it means "spin", longer than a year
    ('[daemon]\npoll_interval = "99999999999999d"', "daemon.poll_interval", "at most 365d"),
    ("[daemon]\npoll_interval = 1e308", "daemon.poll_interval", "at most 365d"),
    ("[daemon]\npoll_interval = 10" + "0" * 400, "daemon.poll_interval", "at most 365d"),
    ("[daemon]\npoll_interval = nan", "daemon.poll_interval", "at most 365d"),
    ("[daemon]\npoll_interval = -1", "daemon.poll_interval", "must not be negative"),
    ('[daemon]\npoll_interval = "0s"', "daemon.poll_interval", "at least 1s (got 0s)"),
    ('[daemon]\npoll_interval = "366d"', "daemon.poll_interval", "at most 365d"),
    ("[daemon]\npoll_interval = true", "daemon.poll_interval", 'invalid duration "true"'),
    ("[daemon]\ndrain_interval = -10", "daemon.drain_interval", "must not be negative"),
    ('[daemon]\ndrain_interval = "500ms"', "daemon.drain_interval", "at least 1s"),
    ("[ingest]\nmax_future_skew = -300", "ingest.max_future_skew", "must not be negative"),
    ("[outbox]\nlease = -1", "outbox.lease", "must not be negative"),
    ('[outbox]\nlease = "1s"', "outbox.lease", "at least 10s"),
    ('[outbox]\nbackoff_initial = "0s"', "outbox.backoff_initial", "at least 1s"),
    ('[outbox]\nbackoff_max = "400d"', "outbox.backoff_max", "at most 365d"),
    (
        '[outbox]\nbackoff_initial = "2h"\nbackoff_max = "1h"',
        "outbox",
        "outbox.backoff_initial (2h) is longer than outbox.backoff_max (1h)",
    ),
    ("[notifications.task]\ndue_in = -60", "notifications.task.due_in", "must not be negative"),
    ('[replies]\ndue_in = "9999999999d"', "replies.due_in", "at most 365d"),
    ("[replies]\nsame_reply_within = -1", "replies.same_reply_within", "must not be negative"),
    ('[sla.stages]\nsql = { within = "0s" }', "sla.stages.sql.within", "at least 1m"),
    # integers: a boolean is not a number; bounds
    ("[daemon]\nport = true", "daemon.port", "should be a number, not true"),
    ("[daemon]\nport = 0", "daemon.port", "greater than or equal to 1"),
    ("[outbox]\nmax_attempts = false", "outbox.max_attempts", "not false"),
    ('[daemon]\nhost = ""', "daemon.host", "must not be empty"),
    ('[bridge]\ntimezone = "America"', "bridge.timezone", 'unknown timezone "America"'),
    ('[bridge]\ntimezone = "' + "é" * 300 + '"', "bridge.timezone", "unknown timezone"),
    ("[daemon]\nport = " + "[" * 5000, "", "nested too deeply"),
    ('[daemon]\nhost = "999.1.1.1"', "daemon.host", 'not an IP address or host name: "999.1.1.1"'),
    ('[daemon]\nhost = "my host"', "daemon.host", "not an IP address or host name"),
    # webhook URLs crmbridge posts to: http(s) with a host, and never echoed (a secret)
    ('[alerts]\nwebhook_url = "ftp://hooks.example/T0K3N"', "alerts.webhook_url", "http://"),
    ('[alerts]\nwebhook_url = "T0K3N"', "alerts.webhook_url", "not shown"),
    (
        '[notifications]\nslack_webhook_url = "https:///T0K3N"',
        "notifications.slack_webhook_url",
        "with a host",
    ),
    ('[notifications]\nwebhook_url = "file:///T0K3N"', "notifications.webhook_url", "http://"),
    (
        '[assignment]\nowners = [{ id = "1", weight = 1000000000 }]',
        "assignment.owners[0].weight",
        "less than or equal to 1000",
    ),
    ("[lifecycle]\nreactivation_after_days = 10000000", "lifecycle.reactivation_after_days", ""),
    ("[lifecycle]\narchive_after_days = 0", "lifecycle.archive_after_days", ""),
    ("[objections]\nmin_confidence = true", "objections.min_confidence", "not true"),
    # points, thresholds, caps: finite and within ±1,000,000
    (FIT.format("nan"), "scoring.fit[0].points", "finite number"),
    (FIT.format("inf"), "scoring.fit[0].points", "finite number"),
    (FIT.format("-inf"), "scoring.fit[0].points", "finite number"),
    (FIT.format("1e308"), "scoring.fit[0].points", "less than or equal to 1000000"),
    (FIT.format("-1e7"), "scoring.fit[0].points", "greater than or equal to -1000000"),
    (FIT.format("true"), "scoring.fit[0].points", "should be a number, not true"),
    (ENGAGEMENT.format("window_days = inf"), "scoring.engagement[0].window_days", "finite"),
    (ENGAGEMENT.format("window_days = 1e9"), "scoring.engagement[0].window_days", "3650"),
    (ENGAGEMENT.format("half_life_days = nan"), "scoring.engagement[0].half_life_days", "finite"),
    (ENGAGEMENT.format("max_points = inf"), "scoring.engagement[0].max_points", "finite"),
    (ENGAGEMENT.format("max_points = 1e308"), "scoring.engagement[0].max_points", "1000000"),
    ("[scoring]\nhot_threshold = inf", "scoring.hot_threshold", "finite"),
    ("[scoring]\nmql_threshold = nan", "scoring.mql_threshold", "finite"),
    ("[scoring.grades]\nA = 1e308", "scoring.grades.A", "1000000"),
    ("[scoring.groups.content]\nmax_points = inf", "scoring.groups.content.max_points", "finite"),
    ("[scoring.inactivity]\nafter_days = 30\npoints = -inf", "scoring.inactivity.points", "finite"),
    (
        "[scoring.inactivity]\nafter_days = 30\npoints = -5\nfloor = nan",
        "scoring.inactivity.floor",
        "",
    ),
    (
        "[scoring.inactivity]\nafter_days = 99999999\npoints = -5",
        "scoring.inactivity.after_days",
        "",
    ),
    (
        '[[scoring.fit]]\nname = "Big"\nwhen = { numemployees = { gt = nan } }\npoints = 5',
        "scoring.fit[0].when.numemployees.gt",
        "finite",
    ),
    (
        '[[scoring.fit]]\nname = "Big"\nwhen = { numemployees = inf }\npoints = 5',
        "scoring.fit[0].when.numemployees.eq",
        "finite",
    ),
    (
        '[[profiling.steps]]\nmin_score = inf\nask = ["phone"]',
        "profiling.steps[0].min_score",
        "finite",
    ),
    (
        '[[objections.classes.price]]\ncues = ["too expensive"]\npoints = 1e308',
        "objections.classes.price[0].points",
        "1000000",
    ),
    ("[objections]\nbant_authority_points = nan", "objections.bant_authority_points", "finite"),
    (
        '[[triggers]]\nname = "t"\nwhen = { event = { type = "page_view", within_days = 99999 } }'
        '\nthen = { notify = "x" }',
        "triggers[0].when.event.within_days",
        "3650",
    ),
    # the database URL
    (
        '[bridge]\ndatabase_url = "mysql://u@db/crm"',
        "bridge.database_url",
        'unsupported database "mysql"',
    ),
    ('[bridge]\ndatabase_url = ""', "bridge.database_url", "must not be empty"),
    ('[bridge]\ndatabase_url = "not a url"', "bridge.database_url", "is not a database URL"),
    (
        '[bridge]\ndatabase_url = "sqlite:////no/such/folder/crmbridge.db"',
        "bridge.database_url",
        "the folder of the SQLite file does not exist: /no/such/folder",
    ),
    # ${VAR} unset for a setting whose default would silently take over
    (
        '[bridge]\ndatabase_url = "${UNSET_DB_URL}"',
        "bridge.database_url",
        "UNSET_DB_URL is not set",
    ),
    (
        '[connectors.hubspot]\nbase_url = "${UNSET_BASE}"',
        "connectors.hubspot.base_url",
        "UNSET_BASE is not set",
    ),
    ('[daemon]\nhost = "${UNSET_HOST}"', "daemon.host", "UNSET_HOST is not set"),
    ('[daemon]\npoll_interval = "${UNSET_POLL}"', "daemon.poll_interval", "UNSET_POLL is not set"),
]


@pytest.mark.parametrize(("text", "path", "words"), BAD_VALUES)
def test_bad_value_is_one_problem_at_its_path(text: str, path: str, words: str) -> None:
    problem = the_problem(text)

    assert problem.path == path, str(problem)
    assert words in problem.message, str(problem)
    assert "T0K3N" not in str(problem)  # a refused secret is never echoed


def test_shown_values_are_short_and_a_database_password_never_shows() -> None:
    [huge] = problems_of("[daemon]\nport = 1" + "0" * 400)
    [zone] = problems_of('[bridge]\ntimezone = "' + "Europe/" * 1000 + '"')
    [url] = problems_of('[bridge]\ndatabase_url = "postgresql://crm:hunter2@db:notaport/crm"')

    assert "a number of about 401 digits" in huge.message
    assert len(huge.message) <= 200 and len(zone.message) <= 200, (huge, zone)
    assert "hunter2" not in str(url)
    assert url.path == "bridge.database_url"


def test_postgres_url_without_driver_uses_psycopg() -> None:
    loaded = parse_config('[bridge]\ndatabase_url = "postgresql://crm@db:5432/crm"\n')

    assert loaded.config.bridge.database_url == "postgresql+psycopg://crm@db:5432/crm"


def test_every_bound_is_inclusive_of_sane_values() -> None:
    loaded = parse_config(
        dedent(
            """
            [daemon]
            poll_interval = "1s"
            drain_interval = 1
            [outbox]
            backoff_initial = "1h"
            backoff_max = "1h"
            lease = "10s"
            [ingest]
            max_future_skew = 0
            [scoring]
            hot_threshold = 1000000
            mql_threshold = -1000000
            """
        )
    )

    assert loaded.config.daemon.poll_interval.total_seconds() == 1
    assert loaded.config.ingest.max_future_skew.total_seconds() == 0


# --- environment overrides -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CRMBRIDGE__DAEMON", "notjson"),
        ("CRMBRIDGE__CONNECTORS__HUBSPOT", "{enabled: true}"),
        ("CRMBRIDGE__TRIGGERS", "[oops"),
        ("CRMBRIDGE__SCORING__FIT", "notjson"),
        ("CRMBRIDGE__SLA__STAGES", "sql=4h"),
    ],
)
def test_override_of_a_table_that_is_not_json_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    problem = the_problem("")

    assert problem.path == name
    assert "is not valid JSON" in problem.message


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("CRMBRIDGE__DAEMON__PORT", "true", "should be a valid integer"),
        ("CRMBRIDGE__DAEMON__POLL_INTERVAL", "0s", "at least 1s"),
        ("CRMBRIDGE__DAEMON__POLL_INTERVAL", "-1", "invalid duration"),
        ("CRMBRIDGE__OUTBOX__LEASE", "99999999999999d", "at most 365d"),
        ("CRMBRIDGE__BRIDGE__DATABASE_URL", "mysql://u@db/crm", "unsupported database"),
        ("CRMBRIDGE__SCORING__HOT_THRESHOLD", "inf", "finite"),
    ],
)
def test_override_with_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)

    problem = the_problem("")

    assert problem.path == name
    assert words in problem.message, str(problem)


def test_override_replaces_an_unset_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__BRIDGE__DATABASE_URL", "sqlite:///set-by-override.db")

    loaded = parse_config('[bridge]\ndatabase_url = "${UNSET_DB_URL}"\n')

    assert loaded.config.bridge.database_url == "sqlite:///set-by-override.db"
    assert loaded.warnings == []


# --- ${VAR} secrets ----------------------------------------------------------------------

HUBSPOT_ON = """
[connectors.hubspot]
enabled = true
access_token = "${UNSET_TOKEN}"
app_secret = "${UNSET_APP_SECRET}"
"""


def test_unset_secret_of_an_enabled_connector_is_refused_where_the_crm_is_reached() -> None:
    loaded = parse_config(HUBSPOT_ON, source="test.toml")  # offline commands still load it

    with pytest.raises(ConfigError) as caught:
        loaded.config.require_secrets()

    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("connectors.hubspot.access_token", "environment variable UNSET_TOKEN is not set"),
    ]
    assert "connectors.hubspot.enabled = false" in (caught.value.problems[0].hint or "")
    assert caught.value.source == "test.toml"
    assert loaded.warnings == [
        "connectors.hubspot.access_token: environment variable UNSET_TOKEN is not set; "
        "commands that reach the CRM (check, run) refuse to start until it is",
        # Without it webhooks are answered 503; polling keeps working.
        "connectors.hubspot.app_secret: environment variable UNSET_APP_SECRET is not set; "
        "the setting is left empty",
    ]


def test_unset_secret_of_a_disabled_connector_only_warns() -> None:
    loaded = parse_config(HUBSPOT_ON.replace("enabled = true", "enabled = false"))

    loaded.config.require_secrets()  # nothing is required of a connector that is off
    assert len(loaded.warnings) == 2
    assert "left empty" in loaded.warnings[0]


def test_connector_turned_on_by_override_needs_its_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__ENABLED", "true")
    loaded = parse_config(HUBSPOT_ON.replace("enabled = true", "enabled = false"))

    with pytest.raises(ConfigError):
        loaded.config.require_secrets()


def test_unset_secret_of_enabled_notifications_is_required() -> None:
    loaded = parse_config('[notifications]\nenabled = true\nslack_webhook_url = "${UNSET_SLACK}"\n')

    with pytest.raises(ConfigError) as caught:
        loaded.config.require_secrets()

    assert caught.value.problems[0].path == "notifications.slack_webhook_url"


def test_an_optional_secret_outside_an_enabled_table_only_warns() -> None:
    loaded = parse_config('[daemon]\ningest_token = "${UNSET_INGEST}"\n')

    loaded.config.require_secrets()
    assert loaded.config.daemon.ingest_token is None
    assert loaded.warnings == [
        "daemon.ingest_token: environment variable UNSET_INGEST is not set; "
        "the setting is left empty"
    ]


# --- the store, when it is opened --------------------------------------------------------


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def test_unreachable_postgres_is_a_config_error_naming_host_and_port() -> None:
    port = _refused_port()

    with pytest.raises(ConfigError) as caught:
        make_engine(f"postgresql+psycopg://crm:hunter2@127.0.0.1:{port}/crm")

    [problem] = caught.value.problems
    assert problem.path == "bridge.database_url"
    assert f"PostgreSQL at 127.0.0.1:{port}/crm" in problem.message
    assert "refused" in problem.message.lower()
    assert "hunter2" not in str(caught.value)


def test_sqlite_file_in_a_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine("sqlite:///missing-folder/crmbridge.db")

    [problem] = caught.value.problems
    assert problem.path == "bridge.database_url"
    assert "the folder missing-folder does not exist" in problem.message


def test_sqlite_file_that_cannot_be_opened_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "a-folder.db").mkdir()  # a directory where the file should be

    with pytest.raises(ConfigError) as caught:
        make_engine(f"sqlite:///{tmp_path}/a-folder.db")

    assert "cannot open the store" in caught.value.problems[0].message


def test_loaded_file_with_bad_values_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "crmbridge.toml"
    path.write_text("[daemon]\nport = true\npoll_interval = -1\n", "utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.source == str(path)
    assert sorted(p.path for p in caught.value.problems) == [
        "daemon.poll_interval",
        "daemon.port",
    ]


def test_override_that_is_not_json_does_not_hide_the_files_problems(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__DAEMON", "notjson")

    problems = problems_of("[outbox]\nlease = -1\n")

    assert sorted(p.path for p in problems) == ["CRMBRIDGE__DAEMON", "outbox.lease"]


def test_override_nested_too_deep_for_json_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__TRIGGERS", "[" * 100_000)

    assert the_problem("").path == "CRMBRIDGE__TRIGGERS"


def test_environment_bytes_that_are_not_utf8_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    undecodable = b"Europe/\xff".decode("utf-8", "surrogateescape")  # as os.environ holds it
    monkeypatch.setenv("CRMBRIDGE__BRIDGE__TIMEZONE", undecodable)
    monkeypatch.setenv("UNSET_NOT_TEXT", undecodable)

    problems = problems_of('[bridge]\ndatabase_url = "${UNSET_NOT_TEXT}"\n')

    assert sorted((p.path, p.message) for p in problems) == [
        (
            "CRMBRIDGE__BRIDGE__TIMEZONE",
            "is not UTF-8 text (the environment holds bytes that cannot be decoded)",
        ),
        (
            "bridge.database_url",
            "environment variable UNSET_NOT_TEXT is not UTF-8 text "
            "(the environment holds bytes that cannot be decoded)",
        ),
    ]


def test_integer_too_long_for_python_to_read_is_a_toml_problem() -> None:
    problem = the_problem("[daemon]\nport = " + "9" * 5000 + "\n")

    assert problem.path == ""
    assert problem.message == "not valid TOML: a number has more than 4,300 digits"


def test_access_token_is_not_required_of_an_app_installed_with_oauth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNSET_OAUTH_SECRET", "client-secret")
    monkeypatch.setenv("UNSET_REFRESH", "refresh-token")
    oauth = HUBSPOT_ON + (
        'client_id = "abc"\n'
        'client_secret = "${UNSET_OAUTH_SECRET}"\n'
        'refresh_token = "${UNSET_REFRESH}"\n'
    )

    parse_config(oauth).config.require_secrets()

    monkeypatch.delenv("UNSET_REFRESH")  # half an OAuth setup signs nobody in
    with pytest.raises(ConfigError) as caught:
        parse_config(oauth).config.require_secrets()
    assert [p.path for p in caught.value.problems] == [
        "connectors.hubspot.access_token",
        "connectors.hubspot.refresh_token",
    ]
