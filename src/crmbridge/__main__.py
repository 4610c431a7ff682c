"""``python -m crmbridge`` runs the command line."""

from crmbridge.cli import run

run()
