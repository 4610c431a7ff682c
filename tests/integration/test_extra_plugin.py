"""A CRM crmbridge has never heard of works as a plugin, with no change to the core.

The plugin is ``extra_crm/crmbridge_memcrm.py``, an in-memory CRM. Each test installs it
the way a package manager would, in a temporary folder: the module, and a
``crmbridge_memcrm-0.1.dist-info`` whose ``entry_points.txt`` registers it in the
``crmbridge.connectors`` group. With that folder on ``PYTHONPATH``, a crmbridge process
finds ``[connectors.memcrm]``, validates it with the plugin's settings model and runs a
whole cycle through it; in this process the plugin passes the connector conformance
suite.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from crmbridge.connector import Connector
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow
from crmbridge.testing.conformance import (
    ConformanceHarness,
    ConnectorConformance,
    RequestKind,
    SeedTimes,
)

PLUGIN_SOURCE = Path(__file__).with_name("extra_crm") / "crmbridge_memcrm.py"
MODULE = "crmbridge_memcrm"
API_KEY = "memcrm-key-7f3a9c51e2b84d06"
WRONG_KEY = "memcrm-key-0000aaaa1111bbbb"
#: A model of its own: the bundled example is refused for a CRM that is not the sandbox.
CONFIG = """
[bridge]
database_url = "sqlite:///{db}"
timezone = "UTC"

[connectors.memcrm]
enabled = true
api_key = "${{MEMCRM_API_KEY}}"
contacts_file = "{contacts}"
dump_file = "{dump}"
page_size = 2
{extra}

[scoring]
mql_threshold = 30
hot_threshold = 200

[[scoring.fit]]
name = "Company of more than 500 employees"
points = 40
when = {{ numemployees = {{ gt = 500 }} }}

[[scoring.fit]]
name = "A director"
points = 20
when = {{ jobtitle = {{ contains = "director" }} }}
"""
#: The CRM's contacts at start: a tie of three across a page of two, and their scores.
CONTACTS = [
    ("ana@example.com", "IT Director", "600", "2026-10-01T09:00:00Z", 60),
    ("ben@example.com", "Engineer", "900", "2026-10-01T09:00:00Z", 40),
    ("cai@example.com", "Director of Sales", "12", "2026-10-01T09:00:00Z", 20),
    ("dee@example.com", "Analyst", "40", "2026-10-02T09:00:00Z", 0),
    ("eve@example.com", "Sales Director", "5000", "2026-10-03T09:00:00Z", 60),
]


def install(folder: Path) -> Path:
    """Install the plugin into ``folder`` as an installed distribution would lay it out."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PLUGIN_SOURCE, folder / f"{MODULE}.py")
    info = folder / f"{MODULE}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crmbridge-memcrm\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[crmbridge.connectors]\nmemcrm = {MODULE}:plugin\n")
    return folder


def crmbridge(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m crmbridge ARGS`` with the plugin's folder on the import path."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "MEMCRM_API_KEY": API_KEY, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "crmbridge", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_config(folder: Path, extra: str = "") -> Path:
    """crmbridge.toml enabling memcrm over the seed contacts; ``extra`` lines join its table."""
    contacts = [
        {
            "properties": {
                "email": email,
                "firstname": email.split("@")[0].title(),
                "jobtitle": title,
                "numemployees": employees,
            },
            "updated_at": at,
        }
        for email, title, employees, at, _ in CONTACTS
    ]
    (folder / "contacts.json").write_text(json.dumps(contacts))
    path = folder / "crmbridge.toml"
    path.write_text(
        CONFIG.format(
            db=(folder / "crmbridge.db").as_posix(),
            contacts=(folder / "contacts.json").as_posix(),
            dump=(folder / "crm.json").as_posix(),
            extra=extra,
        )
    )
    return path


def test_a_cycle_reads_scores_and_writes_through_a_plugin_found_by_its_entry_point(
    tmp_path: Path,
) -> None:
    site = install(tmp_path / "site")
    config = write_config(tmp_path)

    run = crmbridge(site, tmp_path, "run", "--once", "--json", "--config", str(config))

    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout)
    assert summary["ok"], summary
    assert (summary["read"], summary["scored"], summary["written"]) == (5, 5, 5)
    # What the CRM holds: the plugin saved its contacts after each write request.
    crm = json.loads((tmp_path / "crm.json").read_text())
    by_email = {c["properties"]["email"]: c["properties"] for c in crm.values()}
    scores = {email: int(by_email[email]["crmbridge_score"]) for email, *_ in CONTACTS}
    assert scores == {email: score for email, *_, score in CONTACTS}
    assert by_email["ana@example.com"]["crmbridge_stage"] == "mql"  # 60 ≥ mql_threshold 30
    # What the store believes the CRM holds is what it holds.
    store = Store.open(f"sqlite:///{(tmp_path / 'crmbridge.db').as_posix()}")
    try:
        with store.session() as session:
            rows = session.exec(select(ContactRow).where(col(ContactRow.crm) == "memcrm")).all()
            believed = {row.crm_id: dict(row.crm_values or {}) for row in rows}
    finally:
        store.engine.dispose()
    assert set(believed) == set(crm)
    for crm_id, values in believed.items():
        assert values["crmbridge_score"] == crm[crm_id]["properties"]["crmbridge_score"]


def test_config_check_labels_a_bad_key_of_the_plugins_table_with_its_path(
    tmp_path: Path,
) -> None:
    site = install(tmp_path / "site")
    config = write_config(tmp_path, extra='page_sise = 2\nmax_requests = "plenty"')

    check = crmbridge(site, tmp_path, "config", "check", str(config))

    output = check.stdout + check.stderr
    assert check.returncode == 2, output
    # Both problems at once, each under its path, validated by the plugin's own model.
    assert "2 configuration problems" in output, output
    assert 'connectors.memcrm: unknown key "page_sise" (did you mean "page_size"?)' in output
    assert "connectors.memcrm.max_requests:" in output, output
    assert API_KEY not in output


# -- the conformance suite, in this process ---------------------------------------------


@pytest.fixture(scope="module")
def memcrm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The plugin module, imported from the folder it was installed into."""
    site = install(tmp_path_factory.mktemp("site"))
    spec = importlib.util.spec_from_file_location(MODULE, site / f"{MODULE}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module  # its dataclasses resolve their annotations through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(MODULE, None)


class MemCrmHarness:
    """:class:`~crmbridge.testing.conformance.ConformanceHarness` for memcrm."""

    credential_setting = "connectors.memcrm.api_key"
    page_size = 20
    contact_fields: Mapping[str, str] = {
        "email": "email",
        "firstname": "firstname",
        "lastname": "lastname",
        "company": "company",
    }

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.crm: Any = module.MemoryCrm(API_KEY)
        self._times = SeedTimes(datetime.now(UTC) - timedelta(days=30))

    def make_connector(self, *, valid_credentials: bool = True) -> Connector:
        most, window = self.crm.limit or (10_000, 1.0)
        settings = self.module.MemCrmSettings(
            enabled=True,
            api_key=SecretStr(API_KEY if valid_credentials else WRONG_KEY),
            page_size=self.page_size,
            max_requests=most,
            interval_s=window,
        )
        connector: Connector = self.module.MemCrmConnector(self.crm, settings)
        return connector

    def secrets(self) -> Sequence[str]:
        return (API_KEY, WRONG_KEY)

    def seed_contacts(
        self, specs: Sequence[Mapping[str, str]], *, same_modified_time: bool = False
    ) -> list[str]:
        times = self._times.take(len(specs), same=same_modified_time)
        return [self.crm.add(spec, at) for spec, at in zip(specs, times, strict=True)]

    def edit_contact(self, crm_id: str, values: Mapping[str, str]) -> None:
        self.crm.edit(crm_id, values)

    def crm_values(self, crm_id: str, names: Sequence[str]) -> dict[str, str | None]:
        properties = self.crm.contacts[crm_id].properties
        return {name: properties.get(name) for name in names}

    def field_names(self) -> set[str]:
        return set(self.crm.fields)

    def missing_id(self) -> str:
        return "999999"

    def unwritable_value(self) -> tuple[str, str]:
        return "crmbridge_grade", "Z"

    def set_rate_limit(self, max_requests: int, interval_s: float) -> None:
        self.crm.set_limit(max_requests, interval_s)

    def set_fault_rate(self, rate: float, *, seed: int = 0, after_apply: bool = False) -> None:
        self.crm.set_faults(rate, seed=seed, after_apply=after_apply)

    def count_requests(self, kind: RequestKind = "all") -> int:
        answered: list[tuple[str, int]] = self.crm.requests
        if kind == "write":
            return sum(1 for what, _ in answered if what == "write")
        if kind == "rate_limited":
            return sum(1 for _, status in answered if status == 429)
        if kind == "server_error":
            return sum(1 for _, status in answered if status >= 500)
        return len(answered)


def test_the_harness_is_a_conformance_harness(memcrm: ModuleType) -> None:
    assert isinstance(MemCrmHarness(memcrm), ConformanceHarness)


class TestMemCrmConformance(ConnectorConformance):
    """Every conformance test, against a fresh in-memory CRM."""

    #: A short window keeps the pacing test to about a second.
    rate_limit = (10, 0.5)

    @pytest.fixture
    def harness(self, memcrm: ModuleType) -> MemCrmHarness:
        return MemCrmHarness(memcrm)
