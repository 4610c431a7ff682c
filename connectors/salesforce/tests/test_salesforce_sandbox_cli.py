"""``crmbridge sandbox --crm salesforce`` serves the sandbox over TLS with no account."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import requests
from simple_salesforce import Salesforce


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_cli_serves_the_demo_org_to_simple_salesforce() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crmbridge", "sandbox", "--crm", "salesforce",
         "--port", str(port), "--token", "cli-session"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = ""
        deadline = time.monotonic() + 60
        # The banner comes first, then uvicorn says it is listening.
        while "Uvicorn running" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        match = re.search(r"CA bundle (\S+)", banner)
        assert match and "Uvicorn running" in banner, banner
        assert "200 leads" in banner
        with requests.Session() as session:
            session.verify = match.group(1)
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
            sf = Salesforce(instance_url=f"https://127.0.0.1:{port}",
                            session_id="cli-session", session=session, version="59.0")  # fmt: skip
            assert sf.query("SELECT Id FROM Lead")["totalSize"] == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
