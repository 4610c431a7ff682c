"""Every command's --help: flags read as flags, and each command and group has an example."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator

import pytest
import typer.main
from typer._click.core import Command, Context
from typer.core import TyperGroup as Group

from crmbridge.cli import app

from .helpers import invoke


def _commands() -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every group and command under ``crmbridge``, with the words that reach it."""
    root = typer.main.get_command(app)
    stack: list[tuple[tuple[str, ...], Command]] = [((), root)]
    while stack:
        path, command = stack.pop()
        yield path, command
        if isinstance(command, Group):
            ctx = Context(command)
            for name in command.list_commands(ctx):
                child = command.get_command(ctx, name)
                assert child is not None
                stack.append(((*path, name), child))


COMMANDS = sorted(path for path, _ in _commands())


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "crmbridge")
def test_help_shows_flags_without_a_value_placeholder_and_an_example(
    path: tuple[str, ...],
) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "--help" in result.output
    if path:  # the root's help lists the commands; each of them shows an example
        assert "Example:" in result.output, f"crmbridge {' '.join(path)} --help has no example"


def test_every_bool_option_is_a_flag_that_takes_no_value() -> None:
    found = []
    for path, command in _commands():
        for param in command.get_params(Context(command)):
            if getattr(param, "type_descriptor", None) is not None and (
                param.type_descriptor.annotation is bool
            ):
                found.append((path, param.opts))
                assert getattr(param, "is_flag", False), (path, param.opts)
    # --json of score, explain, plan, run, ingest and outbox list at least.
    assert len([opts for _, opts in found if "--json" in opts]) >= 6


def test_json_is_a_plain_flag() -> None:
    result = invoke("score", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 10
    refused = invoke("score", "--json", "true")
    assert refused.exit_code == 2
    assert "true" in refused.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "crmbridge")
def test_help_paragraphs_are_not_broken_mid_line_on_an_80_column_terminal(
    path: tuple[str, ...],
) -> None:
    """Rich help keeps a docstring's line breaks: a line longer than the terminal wraps
    and leaves a stub before the next line. A one-line paragraph may be long."""
    command = dict(_commands())[path]
    for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
        lines = paragraph.splitlines()
        if len(lines) < 2:
            continue
        for line in lines:
            shown = re.sub(r"\[/?[a-z ]*\]", "", line)  # rich markup takes no room
            assert len(shown) <= 78, f"crmbridge {' '.join(path)}: {line!r}"
