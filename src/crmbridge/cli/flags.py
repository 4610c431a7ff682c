"""Command groups whose on/off flags read as flags in ``--help``.

typer renders every bool option, ``--help`` included, with a ``<bool>`` placeholder
(``--json <bool>``), which tells the reader to type a value — and ``--json true`` is
refused, because a flag takes none. The groups below show such options bare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer.core import TyperGroup, TyperOption

if TYPE_CHECKING:
    # Recent typer carries its own copy of click; only the types are taken from it, so
    # the module also runs on a typer built on click itself.
    from typer._click.core import Command, Context, Parameter


def _bare(param: Parameter | None) -> None:
    """Show a flag without a value placeholder (an empty metavar is shown as nothing)."""
    if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
        param.metavar = ""


class FlagGroup(TyperGroup):
    """A typer group whose flags, and those of every command under it, show no placeholder.

    Only the root group needs this class: a command (or a nested group, with all its
    commands) is fixed up when it is looked up, whichever module declared it.
    """

    def get_params(self, ctx: Context) -> list[Parameter]:
        params = super().get_params(ctx)
        for param in params:
            _bare(param)
        return params

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _bare_all(command, ctx)
        return command


def _bare_all(command: Command, ctx: Context) -> None:
    for param in command.get_params(ctx):
        _bare(param)
    if isinstance(command, TyperGroup):
        for child in command.commands.values():
            _bare_all(child, ctx)
