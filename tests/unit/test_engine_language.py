"""Score reasons follow ``[bridge] language``; rule names stay as the admin wrote them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmbridge.scoring import BantModel, Contact, Event, LifecycleModel, ScoringEngine, ScoringModel

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MODEL = ScoringModel.model_validate(
    {
        "fit": [{"name": "Big company", "when": {"numemployees": {"gt": 500}}, "points": 50}],
        "engagement": [
            {
                "name": "Pricing page visit",
                "event": "page_view",
                "points": 15,
                "max_points": 20,
            }
        ],
        "inactivity": {"after_days": 30, "points": -10, "floor": 60},
    }
)


def engine(language: str) -> ScoringEngine:
    return ScoringEngine(MODEL, BantModel(), LifecycleModel(), language=language)


def reasons(language: str, employees: str = "600") -> str:
    visits = [Event("page_view", NOW - timedelta(days=65)) for _ in range(2)]
    return (
        engine(language)
        .score(Contact("c-1", {"numemployees": employees}), visits, NOW)
        .reasons_text
    )


def test_english_reasons_are_the_source_messages() -> None:
    assert reasons("en") == (
        "+50 Big company; +20 Pricing page visit (2×, capped at 20); "
        "-10 60 days inactive (floor 60)"
    )


def test_spanish_reasons_translate_everything_but_the_rule_names() -> None:
    assert reasons("es") == (
        "+50 Big company; +20 Pricing page visit (2×, limitado a 20); "
        "-10 60 días sin actividad (mínimo 60)"
    )
    assert reasons("es", employees="lots").endswith("numemployees 'lots' no es un número")


def test_the_language_is_part_of_the_model_version_english_keeping_the_old_one() -> None:
    plain = ScoringEngine(MODEL, BantModel(), LifecycleModel())
    assert engine("en").version == plain.version
    assert engine("es").version != plain.version
