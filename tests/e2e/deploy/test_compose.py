"""compose.yaml: secrets from .env, loopback ports, health-gated start, sandbox wiring."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from crmbridge.cli import app
from crmbridge_hubspot.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN

from .conftest import ROOT, Serves

#: ${NAME}, ${NAME:-default}, ${NAME:?error} and friends.
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def env_example() -> dict[str, str]:
    """Assignments of .env.example, commented-out ones excluded."""
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of ``${...}`` for the forms compose.yaml uses."""

    def one(match: re.Match[str]) -> str:
        value = env.get(match["name"], "")
        if match["op"] in (":-", "-") and not value:
            return match["arg"]
        return value

    return REFERENCE.sub(one, text)


def test_every_service_is_known(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"crmbridge", "postgres", "sandbox"}
    assert compose["services"]["sandbox"]["profiles"] == ["sandbox"]


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            if SECRET_KEY.search(key):
                match = REFERENCE.fullmatch(text)
                assert match is not None, f"{name}.{key} holds a literal value"
                assert match["op"] in (None, ":?", "?"), f"{name}.{key} has a default"
            # A URL with user:password@ would carry a secret too.
            assert not re.search(r"://[^/@:]+:[^/@]+@", text), f"{name}.{key} has a password"


def test_crmbridge_takes_secrets_from_the_env_file(compose: dict[str, Any]) -> None:
    assert compose["services"]["crmbridge"]["env_file"] in (".env", [".env"])
    example = env_example()
    for name in ("POSTGRES_PASSWORD", "HUBSPOT_ACCESS_TOKEN", "HUBSPOT_APP_SECRET"):
        assert name in example, f".env.example does not list {name}"
        assert example[name] == "", f".env.example gives {name} a value"
    assert "CRMBRIDGE_INGEST_TOKEN" in example


def test_every_variable_without_a_default_is_in_the_env_example(compose: dict[str, Any]) -> None:
    text = (ROOT / "compose.yaml").read_text()
    example = env_example()
    for match in REFERENCE.finditer(text):
        if match["op"] not in (":-", "-"):
            assert match["name"] in example, f"{match['name']} is missing from .env.example"


def test_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    env = env_example()
    published = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            for chosen in (env, {}):  # as .env.example says, and with nothing set
                host = interpolate(str(port), chosen).rsplit(":", 2)[0]
                assert host == "127.0.0.1", f"{name} publishes {port} on {host or 'all'}"
            published.append(name)
    assert sorted(published) == ["crmbridge", "sandbox"]  # never the database


def test_crmbridge_waits_for_healthy_postgres_and_sandbox(compose: dict[str, Any]) -> None:
    services = compose["services"]
    depends = services["crmbridge"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["sandbox"]["condition"] == "service_healthy"
    # The sandbox only runs with --profile sandbox: without it crmbridge still starts.
    assert depends["sandbox"]["required"] is False
    for name in ("postgres", "sandbox"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1


def test_the_model_is_mounted_read_only_where_crmbridge_reads_it(compose: dict[str, Any]) -> None:
    service = compose["services"]["crmbridge"]
    mounts = [m for m in service["volumes"] if isinstance(m, dict)]
    model = next(m for m in mounts if m["source"] == "./crmbridge.toml")
    assert model["read_only"] is True
    # Without it Docker would create an empty directory named crmbridge.toml.
    assert model["bind"]["create_host_path"] is False
    assert service["environment"]["CRMBRIDGE_CONFIG"] == model["target"]


def test_the_sandbox_command_is_valid_and_posts_to_the_daemons_webhook(
    compose: dict[str, Any], daemon_serves: Serves
) -> None:
    command = typer.main.get_command(app)
    args = compose["services"]["sandbox"]["command"]
    with command.make_context("crmbridge", list(args)) as ctx:
        sub = command.get_command(ctx, args[0])  # type: ignore[attr-defined]
        assert sub is not None
        params = sub.make_context(args[0], list(args[1:]), parent=ctx).params
    assert params["host"] == "0.0.0.0"
    target = urlsplit(params["webhook_url"])
    assert target.hostname == "crmbridge"
    # The port crmbridge listens on in its image, and a route the daemon serves.
    assert target.port == 8080
    assert "CRMBRIDGE__DAEMON__PORT=8080" in (ROOT / "Dockerfile").read_text()
    assert daemon_serves("POST", target.path)


def test_the_sandbox_credentials_in_the_env_example_are_the_sandboxs() -> None:
    # crmbridge verifies the sandbox's webhook signatures with HUBSPOT_APP_SECRET.
    text = (ROOT / ".env.example").read_text()
    assert f"HUBSPOT_APP_SECRET={DEFAULT_APP_SECRET}" in text
    assert f"HUBSPOT_ACCESS_TOKEN={DEFAULT_TOKEN}" in text
