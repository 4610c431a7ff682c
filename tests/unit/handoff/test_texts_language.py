"""Hand-off tasks are written in ``[bridge] language``, times in ``[bridge] timezone``;
the admin's own subjects stay as written."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from crmbridge.handoff.escalation import Breach, Escalator, describe_within
from crmbridge.handoff.lead import HandoffPlan
from crmbridge.handoff.planner import HandoffPlanner
from crmbridge.handoff.settings import Escalation, OwnerEntry
from crmbridge.i18n import Texts
from crmbridge.scoring.types import Event

from .helpers import NOW, config, lead

ON = "[notifications]\nenabled = true\n"
SPANISH = ON + '[bridge]\nlanguage = "es"\ntimezone = "Europe/Madrid"\n'


def tasks(toml: str, reply: dict[str, object] | None = None) -> dict[str, dict[str, object]]:
    planner = HandoffPlanner(config(toml))
    one = lead(
        properties={"hubspot_owner_id": "11"},
        events=[Event("email_reply", NOW - timedelta(hours=1), reply or {"source": "sales_email"})],
    )
    plan = planner.plan(one)
    return {a.key.split(":")[0]: dict(a.payload) for a in plan.actions if a.kind == "task"}


def test_spanish_tasks_with_local_times() -> None:
    written = tasks(SPANISH)
    hot, reply = written["hot-task"], written["reply-task"]
    assert hot["subject"] == "Lead caliente: Ana Pérez (puntuación 120)"
    assert str(hot["body"]).startswith(
        "Puntuación 120 (perfil 50, interés 70), grado A\nBANT B A N - — falta: plazo\nEtapa sql"
    )
    assert "Motivos principales:" in str(hot["body"])
    assert reply["subject"] == "Ana Pérez respondió: tómalo tú"
    # 08:00 UTC is 09:00 in Madrid, written the Spanish way.
    assert str(reply["body"]).startswith(
        "Ana Pérez respondió a un email comercial el 24 nov 2026, 9:00:00."
    )


def test_english_tasks_and_an_admin_subject_kept_as_written() -> None:
    written = tasks(SPANISH + '[notifications.task]\nsubject = "Llamar a {name} ya"\n')
    assert written["hot-task"]["subject"] == "Llamar a Ana Pérez ya"
    english = tasks(ON)
    assert english["hot-task"]["subject"] == "Hot lead: Ana Pérez (score 120)"
    assert "replied to a sales email on Nov 24, 2026, 8:00:00" in str(english["reply-task"]["body"])


def test_a_reply_logged_as_an_activity_is_not_called_an_email() -> None:
    call = {"source": "task", "subject": "Inbound call: wants a demo"}
    english = str(tasks(ON, call)["reply-task"]["body"])
    first = english.splitlines()[0]
    assert first.startswith("Ana Pérez answered on Nov 24, 2026, 8:00:00"), first
    assert first.endswith('(an activity logged in the CRM: "Inbound call: wants a demo").')
    assert "email" not in first
    spanish = str(tasks(SPANISH, {"source": "task"})["reply-task"]["body"])
    assert spanish.startswith(
        "Ana Pérez respondió el 24 nov 2026, 9:00:00 (una actividad registrada en el CRM)."
    ), spanish


def test_business_durations_take_the_plural_of_the_language() -> None:
    spanish = Texts("es", ZoneInfo("UTC"))
    assert describe_within(timedelta(days=1, hours=4), spanish) == "1 día hábil 4 horas hábiles"
    assert describe_within(timedelta(days=2)) == "2 business days"


def test_an_sla_breach_task_names_the_owner_and_shows_local_times_in_spanish() -> None:
    escalator = Escalator(Escalation(), [OwnerEntry(id="11", name="Lucía Gil", manager="90")])
    one = lead()
    one.texts = Texts("es", ZoneInfo("Europe/Madrid"))
    started = NOW - timedelta(days=1)
    breach = Breach("sql", "11", started, NOW, timedelta(hours=4))
    plan = HandoffPlan()

    assert escalator.escalate(one, plan, breach).manager == "90"

    (task,) = plan.actions
    assert task.payload["subject"] == "SLA incumplido: Ana Pérez sin contactar (SQL)"
    assert str(task.payload["body"]).startswith(
        "Lucía Gil no ha contactado con Ana Pérez (SQL) en 4 horas hábiles.\n"
        "Plazo iniciado el 23 nov 2026, 10:00:00, vence el 24 nov 2026, 10:00:00."
    )
