"""``/v1/writes`` through the daemon's HTTP app: who may switch writes, and bad bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.daemon.http import create_app
from crmbridge.store.controls import writes_state
from crmbridge.store.repository import Store

INGEST, ADMIN = "ingest-token-31c7", "admin-token-8e02"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.engine.dispose()


def _client(store: Store, *, ingest: str | None, admin: str | None) -> TestClient:
    base = parse_config(example_config_text()).config
    daemon = base.daemon.model_copy(
        update={
            "ingest_token": SecretStr(ingest) if ingest else None,
            "admin_token": SecretStr(admin) if admin else None,
        }
    )
    config: CrmbridgeConfig = base.model_copy(update={"daemon": daemon})
    return TestClient(create_app(store, config))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_admin_token_replaces_the_ingest_token(store: Store) -> None:
    client = _client(store, ingest=INGEST, admin=ADMIN)

    refused = client.post("/v1/writes/pause", headers=_bearer(INGEST))
    paused = client.post("/v1/writes/pause", headers=_bearer(ADMIN), json={"reason": "import"})

    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert paused.status_code == 200
    assert paused.json()["paused"] is True and paused.json()["reason"] == "import"
    assert paused.json()["by"].startswith("http (")
    with store.session() as session:
        assert writes_state(session).paused is True
    resumed = client.post("/v1/writes/resume", headers=_bearer(ADMIN))
    assert resumed.json()["paused"] is False
    assert client.get("/v1/writes", headers=_bearer(ADMIN)).json()["paused"] is False


def test_without_any_token_the_switch_is_unavailable(store: Store) -> None:
    client = _client(store, ingest=None, admin=None)

    answer = client.post("/v1/writes/pause")

    assert answer.status_code == 503
    assert "admin_token" in answer.json()["detail"]
    with store.session() as session:
        assert writes_state(session).paused is False


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/writes"), ("POST", "/v1/writes/pause"), ("POST", "/v1/writes/resume")],
)
def test_the_ingest_token_never_switches_writes(store: Store, method: str, path: str) -> None:
    """The ingest token sits in public web forms: without an admin token every
    ``/v1/writes`` endpoint is unavailable, whatever the bearer."""
    client = _client(store, ingest=INGEST, admin=None)

    answer = client.request(method, path, headers=_bearer(INGEST))

    assert answer.status_code == 503, answer.text
    assert "daemon.admin_token" in answer.json()["detail"]
    with store.session() as session:
        assert writes_state(session).paused is False


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b'{"reason": 7}', 400), (b"x" * 5000, 413), (b"[]", 200)],
)
def test_a_bad_pause_body_is_refused_and_changes_nothing(
    store: Store, body: bytes, status: int
) -> None:
    client = _client(store, ingest=INGEST, admin=ADMIN)

    answer = client.post("/v1/writes/pause", content=body, headers=_bearer(ADMIN))

    assert answer.status_code == status, answer.text
    with store.session() as session:
        assert writes_state(session).paused is (status == 200)


def test_a_long_reason_is_kept_shortened(store: Store) -> None:
    client = _client(store, ingest=INGEST, admin=ADMIN)

    answer = client.post("/v1/writes/pause", json={"reason": "r" * 2000}, headers=_bearer(ADMIN))

    assert answer.status_code == 200
    assert len(answer.json()["reason"]) == 500
