"""Every message the report and the backtest show has a Spanish translation that keeps
its fields."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from crmbridge.i18n import LANGUAGES, catalog_path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [
    *sorted((ROOT / "src" / "crmbridge" / "report").glob("*.py")),
    ROOT / "src" / "crmbridge" / "cli" / "report.py",
    *sorted((ROOT / "src" / "crmbridge" / "backtest").glob("*.py")),
    ROOT / "src" / "crmbridge" / "cli" / "backtest.py",
    # Texts written to the CRM: score reasons.
    *sorted((ROOT / "src" / "crmbridge" / "scoring").glob("*.py")),
]
#: The names messages go through: ``t(...)``/``texts(...)`` translate, ``N_`` marks.
KEYWORDS: dict[str, None] = {"t": None, "texts": None, "N_": None}
FIELD = re.compile(r"\{(\w*)\}")


def messages() -> set[str]:
    found = set()
    for path in SOURCES:
        for _, message, _, _ in extract_from_file("python", str(path), keywords=KEYWORDS):
            found.add(message)
    return found


def test_the_sources_have_messages() -> None:
    assert len(messages()) > 50


def test_the_spanish_catalog_has_no_missing_or_fuzzy_message_and_keeps_every_field() -> None:
    with catalog_path("es").open("rb") as handle:
        catalog = read_po(handle, locale="es")
    problems = []
    for message in sorted(messages()):
        entry = catalog.get(message)
        if entry is None or not entry.string:
            problems.append(f"missing: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif sorted(FIELD.findall(message)) != sorted(FIELD.findall(str(entry.string))):
            problems.append(f"fields differ: {message!r}")
    assert not problems, "\n".join(problems)
    assert LANGUAGES == ("en", "es")
