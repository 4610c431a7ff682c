"""The command line speaks ``[bridge] language``: tables, messages, the stage reasons and
the hand-off preview in Spanish, times in ``[bridge] timezone`` written the Spanish way;
English stays the default. In-process, on the bundled example leads (no CRM)."""

from __future__ import annotations

from pathlib import Path

import structlog
from typer.testing import CliRunner

from crmbridge.cli import app
from crmbridge.config import example_config_text


def _run(tmp_path: Path, language: str | None, *args: str) -> str:
    text = example_config_text().replace(
        'database_url = "sqlite:///crmbridge.db"',
        f'database_url = "sqlite:///{tmp_path / "crmbridge.db"}"',
    )
    if language is not None:
        text = text.replace('# language = "es"', f'language = "{language}"', 1)
    config = tmp_path / "crmbridge.toml"
    config.write_text(text, "utf-8")
    logging_before = structlog.get_config()
    try:
        env = {"HUBSPOT_ACCESS_TOKEN": "pat-cli-language-test"}  # config check asks for it
        result = CliRunner().invoke(app, ["--config", str(config), *args], env=env)
    finally:
        structlog.configure(**logging_before)
    assert result.exit_code == 0, result.output
    return result.output


def test_scores_in_spanish_with_madrid_time(tmp_path: Path) -> None:
    shown = _run(tmp_path, "es", "score")
    # 12:00 UTC on 20 November is 13:00 in Madrid, written the Spanish way.
    assert "Puntuaciones de leads a 20 nov 2026, 13:00:00" in shown
    for header in ("Puntuación", "Perfil", "Grado", "Etapa", "Caliente", "Motivos principales"):
        assert header in shown
    assert "Lead scores" not in shown and "Top reasons" not in shown


def test_explain_in_spanish_names_the_rules_reason_and_the_next_question(tmp_path: Path) -> None:
    shown = _run(tmp_path, "es", "explain", "sarah.jones@northwind.co.uk")
    assert "Reglas que se cumplieron" in shown
    assert "Papel en el comité de compra" in shown
    # The stage machine's reason, and the hand-off preview with the next BANT question.
    assert "las señales piden" in shown or "primera puntuación" in shown
    assert "¿Para cuándo necesitan tener una solución en marcha?" in shown
    assert "Rules that fired" not in shown


def test_config_check_in_spanish_and_english_by_default(tmp_path: Path) -> None:
    spanish = _run(tmp_path, "es", "config", "check")
    assert "es válido:" in spanish and "reglas de perfil" in spanish
    english = _run(tmp_path, None, "config", "check")
    assert "is valid:" in english and "fit rules" in english
    assert "Lead scores as of Nov 20, 2026, 1:00:00" in _run(tmp_path, None, "score")
