"""The ``crmbridge`` command line. Thin: parses options, calls the modules, renders."""

from crmbridge.cli import (  # noqa: F401 - registers the commands
    backtest,
    controls,
    data,
    demo,
    plan,
    report,
    rescore,
    scoring,
    sync,
)
from crmbridge.cli.app import app, run

__all__ = ["app", "run"]
