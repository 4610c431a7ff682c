"""Where the store lives, and what the bundled example may write to.

The default database sits next to the config file (or in the platform's data directory
for the bundled example), never in whatever directory a command runs from; a second
working directory therefore opens the same store. The bundled example model never
writes into a CRM other than the local sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.hubspot.tests.connector.hubspot_harness import TOKEN, sandbox
from crmbridge.cli import app
from crmbridge.cli.safety import is_local_sandbox_url, is_loopback_url, remote_crms_on_example
from crmbridge.config import example_config_text, load_config
from crmbridge.store.identity import read_identity
from crmbridge.store.repository import Store

DB_ENV = "CRMBRIDGE__BRIDGE__DATABASE_URL"


def _config(folder: Path, body: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "crmbridge.toml"
    path.write_text(body, "utf-8")
    return path


def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another working directory, as a second shell or a cron job would have."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_the_default_database_lives_next_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc")
    _elsewhere(tmp_path, monkeypatch)
    url = load_config(config).config.bridge.database_url
    assert url == f"sqlite:///{tmp_path / 'etc' / 'crmbridge.db'}"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///crmbridge.db", "etc/crmbridge.db"),
        ("sqlite:///data/leads.db", "etc/data/leads.db"),
        ("sqlite:///../var/leads.db", "etc/../var/leads.db"),
    ],
)
def test_a_relative_sqlite_path_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, expected: str
) -> None:
    config = _config(tmp_path / "etc", f'[bridge]\ndatabase_url = "{written}"\n')
    (tmp_path / expected).parent.mkdir(parents=True, exist_ok=True)
    _elsewhere(tmp_path, monkeypatch)
    assert load_config(config).config.bridge.database_url == f"sqlite:///{tmp_path / expected}"


def test_an_environment_override_is_resolved_like_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc")
    _elsewhere(tmp_path, monkeypatch)
    monkeypatch.setenv(DB_ENV, "sqlite:///override.db")
    assert load_config(config).config.bridge.database_url == (
        f"sqlite:///{tmp_path / 'etc' / 'override.db'}"
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////tmp/crmbridge.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql+psycopg://crmbridge@db/crmbridge",
    ],
)
def test_absolute_memory_and_server_urls_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    config = _config(tmp_path / "etc", f'[bridge]\ndatabase_url = "{url}"\n')
    _elsewhere(tmp_path, monkeypatch)
    assert load_config(config).config.bridge.database_url == url


def test_the_bundled_example_keeps_its_store_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    _elsewhere(tmp_path, monkeypatch)
    url = load_config(None).config.bridge.database_url
    assert url == f"sqlite:///{tmp_path / 'data' / 'crmbridge' / 'crmbridge.db'}"
    assert (tmp_path / "data" / "crmbridge").is_dir()


def test_an_unwritable_data_directory_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", "utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    _elsewhere(tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["plan"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"bridge.database_url: cannot create the data directory {blocked}" in said


def test_two_working_directories_open_one_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc")
    runner = CliRunner()
    ids = set()
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        result = runner.invoke(app, ["--config", str(config), "plan"])
        assert result.exit_code == 0, result.output
        assert not (folder / "crmbridge.db").exists()
        store = Store.open(f"sqlite:///{tmp_path / 'etc' / 'crmbridge.db'}", migrate=False)
        ids.add(read_identity(store.engine).store_id)
        store.engine.dispose()
    assert len(ids) == 1


# -- the bundled example and a real CRM ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("http://127.8.0.1", True),
        ("https://api.hubapi.com", False),
        ("http://sandbox:8765", False),
        ("http://10.0.0.5:8765", False),
        ("not a url", False),
    ],
)
def test_only_a_loopback_host_counts_as_the_local_sandbox(url: str, local: bool) -> None:
    assert is_loopback_url(url) is local


@pytest.mark.parametrize("command", [["run", "--once"], ["run"], ["check"]])
def test_the_bundled_example_refuses_to_write_a_real_crm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv(DB_ENV, f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "bundled example" in said
    assert "Copy config.example.toml to crmbridge.toml" in said
    assert "https://api.hubapi.com" in said
    assert TOKEN not in said
    assert not (tmp_path / "x.db").exists()


def test_the_sandbox_walkthrough_still_runs_on_the_bundled_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox() as server:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("HUBSPOT_APP_SECRET", "sandbox-secret")
        monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", server.url)
        monkeypatch.setenv(DB_ENV, f"sqlite:///{tmp_path / 'x.db'}")
        result = CliRunner().invoke(app, ["run", "--once"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://sandbox:8765", True),  # compose.yaml's sandbox service
        ("http://SANDBOX:8765", True),
        ("http://sandbox.acme.example", False),
        ("https://api.hubapi.com", False),
        ("http://10.0.0.5:8765", False),
    ],
)
def test_the_local_sandbox_is_this_machine_or_the_compose_service(url: str, local: bool) -> None:
    assert is_local_sandbox_url(url) is local


def _copied_example(folder: Path, old: str = "", new: str = "") -> Path:
    """``cp config.example.toml crmbridge.toml``, with one edit when given."""
    text = example_config_text()
    assert old in text
    return _config(folder, text.replace(old, new, 1) if old else text)


@pytest.mark.parametrize("command", [["run", "--once"], ["run"], ["check"]])
def test_a_copied_unedited_example_refuses_to_write_a_real_crm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    config = _copied_example(tmp_path / "etc")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HUBSPOT_APP_SECRET", "s")
    monkeypatch.setenv(DB_ENV, f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(app, ["--config", str(config), *command])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "bundled example model" in said
    assert f"{config} holds the example's scoring model unchanged" in said
    assert "https://api.hubapi.com" in said
    assert TOKEN not in said
    assert not (tmp_path / "x.db").exists()


def test_an_edited_copy_of_the_example_or_the_sandbox_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HUBSPOT_APP_SECRET", "s")
    unedited = load_config(_copied_example(tmp_path / "a"))
    assert remote_crms_on_example(unedited) == ["hubspot (https://api.hubapi.com)"]
    edited = load_config(_copied_example(tmp_path / "b", "points = 50", "points = 45"))
    assert remote_crms_on_example(edited) == []
    # The compose walkthrough: the unedited copy, mounted, against the sandbox service.
    monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", "http://sandbox:8765")
    assert remote_crms_on_example(load_config(_copied_example(tmp_path / "c"))) == []


def test_the_sandbox_walkthrough_runs_on_a_copied_unedited_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _copied_example(tmp_path / "etc")
    with sandbox() as server:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("HUBSPOT_APP_SECRET", "sandbox-secret")
        monkeypatch.setenv("CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL", server.url)
        result = CliRunner().invoke(app, ["--config", str(config), "run", "--once"])
    assert result.exit_code == 0, result.output
