"""The commands docs/hubspot.md and docs/events.md give a person work as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import uvicorn
from pydantic import SecretStr

from crmbridge.config import CrmbridgeConfig, example_config_text, parse_config
from crmbridge.daemon.http import create_app
from crmbridge.store.identity import bind_account
from crmbridge.store.repository import Store

DOCS = Path(__file__).resolve().parents[3] / "docs"
SECRET = "private-app-client-secret-3c1d"
#: The HubSpot account the test daemon's connector is bound to.
PORTAL = "4200017"


def block_after(document: str, marker: str, language: str) -> str:
    """The first ``language`` code block after ``marker`` in a document of docs/."""
    text = (DOCS / document).read_text()
    start = text.index(marker)
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.DOTALL)
    assert found is not None, f"no {language} block after {marker!r} in {document}"
    return found.group(1)


def config() -> CrmbridgeConfig:
    base = parse_config(example_config_text()).config
    hubspot = base.connectors.hubspot.model_copy(update={"app_secret": SecretStr(SECRET)})
    connectors = base.connectors.model_copy(update={"hubspot": hubspot})
    return base.model_copy(update={"connectors": connectors})


@pytest.fixture
def daemon_url(tmp_path: Path) -> Iterator[str]:
    """The daemon's HTTP app served by uvicorn on a free port (the real clock)."""
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    bind_account(store.engine, "hubspot", PORTAL, f"HubSpot account {PORTAL}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(store, config()), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        store.engine.dispose()


def run(command: list[str], url: str) -> str:
    env = {**os.environ, "CRMBRIDGE_URL": url, "HUBSPOT_APP_SECRET": SECRET}
    env["HUBSPOT_PORTAL_ID"] = PORTAL
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_python_signed_webhook_is_accepted(daemon_url: str) -> None:
    code = block_after("hubspot.md", "To send a signed test notification", "python")
    status, _, body = run([sys.executable, "-c", code], daemon_url).strip().partition(" ")
    assert status == "200"
    assert json.loads(body)["accepted"] == 1


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("openssl") is None, reason="needs curl, openssl"
)
def test_the_curl_and_openssl_signed_webhook_is_accepted(daemon_url: str) -> None:
    script = block_after("hubspot.md", "The same with curl and openssl", "bash")
    answer = json.loads(run(["bash", "-c", script], daemon_url))
    assert answer["accepted"] == 1


def test_a_wrong_secret_is_refused_so_the_snippets_prove_something(daemon_url: str) -> None:
    code = block_after("hubspot.md", "To send a signed test notification", "python")
    env = {**os.environ, "CRMBRIDGE_URL": daemon_url, "HUBSPOT_APP_SECRET": "not-the-secret"}
    env["HUBSPOT_PORTAL_ID"] = PORTAL
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "401" in done.stderr


def test_the_documented_api_pages_are_served(daemon_url: str) -> None:
    document = requests.get(f"{daemon_url}/openapi.json", timeout=5).json()
    assert "CanonicalEvent" in document["components"]["schemas"]
    assert "/v1/events" in document["paths"]
    for page in ("/docs", "/redoc"):
        answer = requests.get(f"{daemon_url}{page}", timeout=5)
        assert answer.status_code == 200 and "/openapi.json" in answer.text
