"""``[connectors.<name>]``: a table per installed plugin, and plain words for the others.

A table naming no installed plugin is refused at its own path with a did-you-mean; one
naming a plugin that is installed but failed to load says so, with the reason; the
``CRMBRIDGE__CONNECTORS__<NAME>__<KEY>`` overrides reach the plugin's settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from textwrap import dedent
from typing import Any

import pytest

from crmbridge.config import parse_config
from crmbridge.connector import registry
from crmbridge.demo import sandbox_plugin
from crmbridge.errors import ConfigError, ConfigProblem


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), source="test.toml")
    return caught.value.problems


@pytest.fixture
def broken_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two more entry points in the group: one whose module is missing, one naming an
    object that is no plugin. The registry looks again with them, and after the test
    without them."""
    extra = (
        EntryPoint("acme", "crmbridge_acme_not_installed:plugin", registry.ENTRY_POINT_GROUP),
        EntryPoint("bogus", "crmbridge.errors:ConfigError", registry.ENTRY_POINT_GROUP),
    )

    def with_broken(**select: Any) -> tuple[EntryPoint, ...]:
        return (*entry_points(**select), *extra)

    monkeypatch.setattr(registry, "entry_points", with_broken)
    registry.rescan()
    yield
    monkeypatch.undo()
    registry.rescan()


def test_a_mistyped_connector_table_is_refused_at_its_path_with_did_you_mean() -> None:
    [problem] = problems_of(
        """
        [connectors.hubspto]
        enabled = true
        """
    )

    assert problem.path == "connectors.hubspto"
    assert problem.message == 'no connector plugin "hubspto" is installed'
    assert problem.hint == 'did you mean "hubspot"?'


def test_a_table_far_from_every_plugin_lists_the_installed_ones() -> None:
    [problem] = problems_of("[connectors.pipedrive]\nenabled = true\n")

    assert problem.path == "connectors.pipedrive"
    assert problem.hint == "expected one of: " + ", ".join(registry.plugins())
    assert "hubspot" in problem.hint


def test_an_override_creating_an_unknown_table_is_named_by_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPTO__ENABLED", "true")

    [problem] = problems_of("")

    assert problem.path == "CRMBRIDGE__CONNECTORS__HUBSPTO__ENABLED"
    assert problem.message == 'no connector plugin "hubspto" is installed'
    assert problem.hint == 'did you mean "hubspot"?'


@pytest.mark.usefixtures("broken_plugins")
def test_the_table_of_a_plugin_that_failed_to_load_names_the_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__BOGUS__ENABLED", "true")

    problems = problems_of("[connectors.acme]\nenabled = true\n")

    by_path = {p.path: p for p in problems}
    assert set(by_path) == {"connectors.acme", "CRMBRIDGE__CONNECTORS__BOGUS__ENABLED"}
    acme = by_path["connectors.acme"]
    assert acme.message == (
        "the acme connector plugin failed to load: "
        "ModuleNotFoundError: No module named 'crmbridge_acme_not_installed'"
    )
    assert acme.hint is not None and "reinstall" in acme.hint
    bogus = by_path["CRMBRIDGE__CONNECTORS__BOGUS__ENABLED"]
    assert bogus.message.startswith("the bogus connector plugin failed to load: PluginError: ")
    assert "is not a ConnectorPlugin named 'bogus'" in bogus.message


@pytest.mark.usefixtures("broken_plugins")
def test_a_broken_plugin_leaves_the_others_usable() -> None:
    assert set(registry.failures()) == {"acme", "bogus"}
    assert "hubspot" in registry.plugins()
    assert "acme" not in registry.plugins()

    loaded = parse_config("[connectors.hubspot]\nbase_url = 'http://127.0.0.1:1'\n")

    assert loaded.config.connectors.tables()["hubspot"].endpoint() == "http://127.0.0.1:1"


def test_connector_overrides_reach_the_plugin_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__ENABLED", "true")
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__ACCESS_TOKEN", "sandbox-token")

    loaded = parse_config("[connectors.hubspot]\nenabled = false\n")

    hubspot = loaded.config.connectors.enabled()["hubspot"]
    assert hubspot.endpoint() == "http://127.0.0.1:8765"
    dumped = hubspot.model_dump()
    assert dumped["access_token"].get_secret_value() == "sandbox-token"


def test_an_override_with_a_mistyped_key_of_a_plugin_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_UR", "http://127.0.0.1:8765")

    [problem] = problems_of("")

    assert str(problem) == (
        'CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_UR: unknown key "base_ur" (did you mean "base_url"?)'
    )


def test_the_demo_runs_the_first_plugin_that_ships_a_sandbox() -> None:
    plugin, provider = sandbox_plugin()

    assert plugin.name == "hubspot" and plugin.title == "HubSpot"
    assert provider is plugin.sandbox


@pytest.mark.parametrize(
    ("crm", "message"),
    [
        ("pipedrive", 'no connector plugin "pipedrive" is installed'),
    ],
)
def test_a_crm_without_a_sandbox_is_refused_naming_those_with_one(crm: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        sandbox_plugin(crm)

    [problem] = caught.value.problems
    assert (problem.path, problem.message) == ("--crm", message)
    assert problem.hint == "plugins with a sandbox: hubspot, salesforce"


def test_a_table_enabled_by_an_override_needs_its_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__ENABLED", "true")
    loaded = parse_config(
        '[connectors.hubspot]\nenabled = false\naccess_token = "${UNSET_TOKEN}"\n',
        source="test.toml",
    )

    with pytest.raises(ConfigError) as caught:
        loaded.config.require_secrets()

    [problem] = caught.value.problems
    assert problem.path == "connectors.hubspot.access_token"
    assert problem.hint is not None and "connectors.hubspot is enabled" in problem.hint


def test_a_plugin_named_like_a_store_namespace_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "_handoff" names the hand-off switches' rows in the cursors table: a connector
    # of that name would read and overwrite them.
    reserved = EntryPoint("_handoff", "crmbridge_hubspot:plugin", registry.ENTRY_POINT_GROUP)

    def with_reserved(**select: Any) -> tuple[EntryPoint, ...]:
        return (*entry_points(**select), reserved)

    monkeypatch.setattr(registry, "entry_points", with_reserved)
    registry.rescan()
    try:
        assert "_handoff" not in registry.plugins()
        assert "is not a connector name" in registry.failures()["_handoff"]
        assert "hubspot" in registry.plugins()
    finally:
        monkeypatch.undo()
        registry.rescan()
