"""Every text the command line prints goes through the catalog: no English literal is
handed straight to a printer (``print``, ``fail``, ``say``, ``typer.confirm``, a table's
columns, rows and titles). Extraction then finds each message, and the catalog test
(tests/unit/report/test_catalog.py) checks its Spanish.

A literal that is no text a person reads (a product name, a flag) is allowed on a line
marked ``# untranslated: <why>``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "crmbridge"
SOURCES = [
    *sorted((ROOT / "cli").glob("*.py")),
    ROOT / "console.py",
    ROOT / "demo.py",
]
#: Calls whose arguments a person reads.
PRINTERS = {
    "print",
    "echo",
    "fail",
    "say",
    "confirm",
    "add_column",
    "add_row",
    "add_task",
    "Table",
    "Panel",
    "Text",
    "TextColumn",
}
#: Keyword arguments a person reads, whatever the call.
READ_KEYWORDS = {"title", "subtitle", "caption"}
#: Words that are names, the same in every language.
NAMES = {"BANT", "crmbridge", "CRM", "API", "MQL", "SQL", "UTC"}
MARKUP = re.compile(r"\[/?[a-z0-9 #._-]*\]")
WORD = re.compile(r"[A-Za-z]{2,}")
#: ``{task.description:<20}`` and the like: rich's own fields, not words.
FIELD = re.compile(r"\{[^{}]*\}")


def _is_text(literal: str) -> bool:
    bare = FIELD.sub("", MARKUP.sub("", literal))
    return any(word not in NAMES for word in WORD.findall(bare))


def _literal_parts(node: ast.AST) -> Iterator[str]:
    """The literal text of an argument: a string, an f-string's fixed parts, a sum."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value.value
    elif isinstance(node, ast.BinOp):
        yield from _literal_parts(node.left)
        yield from _literal_parts(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literal_parts(node.body)
        yield from _literal_parts(node.orelse)


def untranslated(source: str, name: str = "<source>") -> list[str]:
    """``file:line: text`` of each literal handed to a printer without the catalog."""
    lines = source.splitlines()
    found = []
    for call in ast.walk(ast.parse(source)):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        arguments = list(call.args) if called in PRINTERS else []
        arguments += [k.value for k in call.keywords if k.arg in READ_KEYWORDS]
        for argument in arguments:
            marked = "# untranslated:" in lines[argument.lineno - 1]
            for part in _literal_parts(argument):
                if _is_text(part) and not marked:
                    found.append(f"{name}:{argument.lineno}: {part!r}")
    return found


#: The calls that translate or mark a message.
CATALOG_CALLS = {"t", "texts", "N_", "plural"}


def hidden_messages(source: str, name: str = "<source>") -> list[str]:
    """Messages written inside an f-string: extraction cannot see them, so the catalog
    test would never ask for their translation."""
    found = []
    for string in ast.walk(ast.parse(source)):
        if not isinstance(string, ast.JoinedStr):
            continue
        for call in ast.walk(string):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            literal = any(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args
            )
            if called in CATALOG_CALLS and literal:
                found.append(f"{name}:{call.lineno}: {ast.unparse(call)}")
    return found


def test_the_scan_finds_an_english_literal_and_lets_a_translated_one_pass() -> None:
    caught = untranslated(
        'out.print(f"[green]✔[/] wrote {path}")\n'
        'fail("no contact")\n'
        'Table(title="Cycle")\n'
        'table.add_column("Score", justify="right")\n'
        "err.print(f\"[yellow]![/] {escape(t(N_('held')))}\")\n"
        'table.add_column("BANT")\n'
        'out.print(f"crmbridge {version}")  # untranslated: the product name\n'
    )
    assert [line.split(": ", 1)[1] for line in caught] == [
        "'[green]✔[/] wrote '",
        "'no contact'",
        "'Cycle'",
        "'Score'",
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_text_the_command_line_prints_goes_through_the_catalog(path: Path) -> None:
    assert untranslated(path.read_text("utf-8"), path.name) == []


def test_a_message_inside_an_f_string_is_found() -> None:
    caught = hidden_messages("x = f\"[bold]{escape(t(N_('Total')))}[/] {t(title)}\"\n")
    assert caught == ["<source>:1: N_('Total')"]


#: Every module a message is extracted from (the catalog test's sources).
CATALOG_SOURCES = sorted(
    {*SOURCES, *ROOT.glob("report/*.py"), *ROOT.glob("backtest/*.py"), *ROOT.glob("handoff/*.py")}
    | {*ROOT.glob("scoring/*.py"), *ROOT.glob("daemon/*.py"), *ROOT.glob("daemon/routes/*.py")}
    | {ROOT / "sync" / "writeback.py"}
)


@pytest.mark.parametrize("path", CATALOG_SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_message_hides_in_an_f_string(path: Path) -> None:
    assert hidden_messages(path.read_text("utf-8"), path.name) == []
