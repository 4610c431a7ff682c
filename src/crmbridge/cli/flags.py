"""Command groups whose on/off flags read as flags in ``--help``.

typer renders every bool option, ``--help`` included, with a ``<bool>`` placeholder
(``--json <bool>``), which tells the reader to type a value — and ``--json true`` is
refused, because a flag takes none. The groups below show such options bare.
"""

from __future__ import annotations

# typer carries its own copy of click; its groups and options are typed with it.
from typer._click.core import Command, Context, Parameter
from typer.core import TyperCommand, TyperGroup, TyperOption


def _bare(param: Parameter | None) -> None:
    """Show a flag without a value placeholder (an empty metavar is shown as nothing)."""
    if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
        param.metavar = ""


class FlagGroup(TyperGroup):
    """A typer group whose flags, and its commands' flags, show no value placeholder."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        params = super().get_params(ctx)
        for param in params:
            _bare(param)
        return params

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, TyperCommand):
            for param in command.get_params(ctx):
                _bare(param)
        return command
