"""The import contracts of pyproject.toml hold: the layers and the plugin boundary.

``.ci/run`` runs ``lint-imports`` too; this test makes ``python -m pytest`` fail on a
broken contract as well, with import-linter's report of the offending import chains.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Installed beside the interpreter by the dev extra (``pip install -e '.[dev]'``).
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_every_import_contract_is_kept() -> None:
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[dev]'"

    # --no-cache: the verdict comes from the files as they are now.
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    if run.returncode != 0:
        pytest.fail(f"lint-imports failed:\n{run.stdout}\n{run.stderr}", pytrace=False)


def test_the_contracts_cover_the_layers_and_every_plugin() -> None:
    # A contract deleted or emptied would keep the check above green without checking
    # anything: the ones the architecture relies on must stay configured.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    settings = pyproject["tool"]["importlinter"]
    contracts = {contract["id"]: contract for contract in settings["contracts"]}
    registered = pyproject["project"]["entry-points"]["crmbridge.connectors"].values()
    plugin_packages = {target.split(":")[0] for target in registered}

    assert contracts["layers"]["layers"] == [
        "crmbridge.cli",
        "crmbridge.daemon",
        "crmbridge.backtest",
        "crmbridge.report",
        "crmbridge.sync",
        "crmbridge.handoff",
        "crmbridge.store",
        "crmbridge.scoring",
    ]
    assert {"crmbridge.clock", "crmbridge.store", "sqlmodel", "requests"} <= set(
        contracts["pure-scoring"]["forbidden_modules"]
    )
    assert set(contracts["plugins-use-the-contract"]["source_modules"]) == plugin_packages
    assert set(contracts["core-knows-no-plugin"]["forbidden_modules"]) == plugin_packages
    assert plugin_packages <= set(settings["root_packages"])
