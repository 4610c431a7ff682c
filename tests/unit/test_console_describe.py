"""A planned action as explain shows it: in the configured language, the owner by name."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from crmbridge.connector import Action
from crmbridge.console import describe
from crmbridge.i18n import Texts

SPANISH = Texts("es", ZoneInfo("Europe/Madrid"))


def test_a_task_names_its_owner_and_speaks_the_language() -> None:
    task = Action("task", "101", "hot-task:101", {"subject": "Llamar", "owner_id": "11"})
    assert describe(task, SPANISH, {"11": "Lucía Gómez"}) == "tarea «Llamar» para Lucía Gómez"
    assert describe(task) == 'task "Llamar" for 11'  # no name known: the id
    alone = Action("task", "101", "k", {"subject": "Llamar", "owner_id": None})
    assert describe(alone, SPANISH) == "tarea «Llamar» sin asignar (el lead no tiene comercial)"
    assert describe(Action("pause", "101", "k", {}), SPANISH) == "pausar las secuencias activas"
    enroll = Action("enroll", "101", "k", {"sequence_id": "7"})
    assert describe(enroll) == "enroll in sequence 7"
