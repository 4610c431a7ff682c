"""The ``crmbridge`` command line. Thin: parses options, calls the modules, renders."""

from crmbridge.cli import controls, data, demo, scoring, sync  # noqa: F401 - registers the commands
from crmbridge.cli.app import app, run

__all__ = ["app", "run"]
