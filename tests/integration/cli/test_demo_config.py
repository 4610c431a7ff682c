"""``crmbridge demo --config``: the given model runs against the sandbox, nothing else."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .helpers import example_with, invoke


def test_demo_scores_with_the_model_of_config(tmp_path: Path) -> None:
    model = example_with(
        tmp_path / "acme.toml",
        ("hot_threshold = 100 ", "hot_threshold = 9999 "),
        # Shadow mode guards a real CRM; the demo's sandbox is still written to.
        ("[bridge]\n", "[bridge]\nwrite = false\n"),
        extra='\n[writeback]\nprefix = "acme"\n',
    )
    result = invoke("demo", "--config", str(model), "--db", str(tmp_path / "demo.db"))
    assert result.exit_code == 0, result.output
    assert f"Model: {model}" in result.stdout
    # Every lead was read back under the model's own prefix, and none is hot at 9999.
    assert "200 leads scored, 0 hot" in result.stdout


@pytest.fixture
def hook() -> Iterator[tuple[str, list[str]]]:
    """A local webhook receiver that records every request path."""
    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    server.shutdown()
    server.server_close()


def test_demo_never_posts_to_the_notification_webhooks_of_config(
    tmp_path: Path, hook: tuple[str, list[str]]
) -> None:
    url, seen = hook
    model = example_with(
        tmp_path / "notify.toml",
        ("[notifications]\nenabled = false\n", "[notifications]\nenabled = true\n"),
        extra="",
    )
    text = model.read_text("utf-8").replace(
        "[notifications]\nenabled = true\n",
        f'[notifications]\nenabled = true\nslack_webhook_url = "{url}"\nwebhook_url = "{url}"\n',
    )
    model.write_text(text, "utf-8")
    result = invoke("demo", "--config", str(model), "--db", str(tmp_path / "demo.db"))
    assert result.exit_code == 0, result.output
    assert "hot" in result.stdout and ", 0 hot" not in result.stdout
    assert seen == []


def test_demo_names_the_bundled_model_without_config(tmp_path: Path) -> None:
    result = invoke("demo", "--db", str(tmp_path / "demo.db"), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "Model: the bundled example" in result.stdout
