"""Every message crmbridge shows a person — the report, the backtest, the dashboard, the
command line, the texts written to the CRM — has a Spanish translation that keeps its
fields."""

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
    # The daemon's dashboard.
    ROOT / "src" / "crmbridge" / "daemon" / "dashboard.py",
    ROOT / "src" / "crmbridge" / "daemon" / "routes" / "ui.py",
    # Texts written to the CRM: score reasons, hand-off tasks.
    *sorted((ROOT / "src" / "crmbridge" / "scoring").glob("*.py")),
    *sorted((ROOT / "src" / "crmbridge" / "handoff").glob("*.py")),
    # The command line: its tables and messages, the demo's narration.
    *sorted((ROOT / "src" / "crmbridge" / "cli").glob("*.py")),
    ROOT / "src" / "crmbridge" / "console.py",
    ROOT / "src" / "crmbridge" / "demo.py",
    # The labels of the properties crmbridge creates in the CRM.
    ROOT / "src" / "crmbridge" / "sync" / "writeback.py",
    # The plugins' own words in hand-off tasks (what a CRM cannot do).
    ROOT / "connectors" / "hubspot" / "crmbridge_hubspot" / "handoff.py",
    ROOT / "connectors" / "salesforce" / "crmbridge_salesforce" / "handoff.py",
]
#: The names messages go through: ``t(...)``/``texts(...)`` translate, ``N_`` marks,
#: ``t.plural(singular, plural, count)`` chooses by count.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "t": None,
    "texts": None,
    "N_": None,
    "plural": (1, 2),
}
FIELD = re.compile(r"\{(\w*)\}")


def messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
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
    for message in sorted(messages(), key=str):
        # A plural message is (singular, plural): every Spanish form keeps the plural's fields.
        msgid = message[0] if isinstance(message, tuple) else message
        source = message[-1] if isinstance(message, tuple) else message
        entry = catalog.get(msgid)
        forms = () if entry is None else entry.string
        forms = forms if isinstance(forms, tuple) else (forms,)
        if entry is None or not all(forms):
            problems.append(f"missing: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif any(sorted(FIELD.findall(source)) != sorted(FIELD.findall(f)) for f in forms):
            problems.append(f"fields differ: {message!r}")
    assert not problems, "\n".join(problems)
    assert LANGUAGES == ("en", "es")
