"""The objection classifier: English and Spanish cues, accents and case, confidence, ties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crmbridge.handoff.objections import classifier_for
from crmbridge.handoff.settings import ObjectionSettings
from crmbridge.scoring.objection_cues import BUILT_IN
from crmbridge.scoring.objections import BANT_CUE, NONE, ObjectionClassifier

BUILT_IN_CLASSIFIER = classifier_for(ObjectionSettings())

#: (what sales wrote, the class). BANT's authority letter is taken as qualified here.
TABLE = [
    # price: ROI, detailed comparisons, a concrete decision date
    ("What's the ROI over two years?", "price"),
    ("Asked for the return on investment and the payback period", "price"),
    ("Wants a side-by-side comparison with HubSpot's quote", "price"),
    ("We need to decide by Friday; you are cheaper than Zendesk?", "price"),
    ("Decision in 30 days", "price"),
    ("they will sign within 2 weeks if the numbers work", "price"),
    ("¿Cuál es el retorno de la inversión?", "price"),
    ("Pide una COMPARATIVA detallada con Salesforce", "price"),
    ("Comparado con la competencia sale caro, decidimos en 30 días", "price"),
    ("Quiere saber en cuánto tiempo se amortiza", "price"),
    ("Lo deciden a final de mes", "price"),
    ("Necesitan cerrar en 15 DÍAS", "price"),
    ("¿Es más barato que la solución actual?", "price"),
    # trust: avoids results, no named alternative, postpones
    ("Too expensive.", "trust"),
    ("Not convinced; maybe later", "trust"),
    ("He avoided talking about results", "trust"),
    ("We'll see. We are looking at other options", "trust"),
    ("Said they would get back to you someday", "trust"),
    ("Not right now, circle back next year", "trust"),
    ("Demasiado caro, ya veremos", "trust"),
    ("No quiere hablar de resultados", "trust"),
    ("Está mirando OTROS PROVEEDORES", "trust"),
    ("Ahora no, más adelante", "trust"),
    ("No es el momento; ya te diremos algo", "trust"),
    ("Muy caro y no lo veo claro", "trust"),
    # authority: someone else holds the budget
    ("I need to check with my boss", "authority"),
    ("Not my decision, procurement has to sign off", "authority"),
    ("It needs approval from the board", "authority"),
    ("Tengo que consultarlo con mi jefe", "authority"),
    ("Lo tiene que aprobar mi JEFA", "authority"),
    ("No depende de mí: decide el comité de dirección", "authority"),
    ("Lo pasamos al departamento de compras", "authority"),
    ("No es decisión mía", "authority"),
    # nothing to go on
    ("Great call, sending the contract", NONE),
    ("Llamada muy buena", NONE),
    ("", NONE),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_the_built_in_cues_classify_english_and_spanish(text: str, expected: str) -> None:
    verdict = BUILT_IN_CLASSIFIER.classify([text], lacks_authority=False)

    assert verdict.kind == expected, verdict.describe()
    assert (verdict.confidence > 0) == (expected != NONE)


def test_the_table_covers_every_class_in_both_languages() -> None:
    assert len(TABLE) >= 30
    assert {kind for _, kind in TABLE} == {"price", "trust", "authority", NONE}


def test_case_and_accents_never_matter() -> None:
    variants = ["decidimos en 30 dias", "DECIDIMOS EN 30 DÍAS", "Decidimos en 30 Días"]
    verdicts = {BUILT_IN_CLASSIFIER.classify([v]).cues for v in variants}
    assert verdicts == {("en # dias", "decidimos en")}


def test_cues_match_whole_words_only() -> None:
    # "roi" inside "heroic", "tco" inside "tcom": no cue.
    assert BUILT_IN_CLASSIFIER.classify(["A heroic effort by tcom"]).kind == NONE


def test_a_number_cue_needs_a_number() -> None:
    assert BUILT_IN_CLASSIFIER.classify(["decide in a few days"]).kind == NONE
    assert BUILT_IN_CLASSIFIER.classify(["decide in 10 days"]).cues == ("in # days",)


def test_confidence_is_the_winning_share_and_the_cues_explain_it() -> None:
    verdict = BUILT_IN_CLASSIFIER.classify(
        ["Asks about ROI, decision in 30 days", "but: too expensive"], lacks_authority=False
    )
    assert (verdict.kind, verdict.confidence) == ("price", 67)
    assert verdict.cues == ("roi", "in # days", "too expensive")


def test_missing_bant_authority_adds_to_authority_only_when_there_is_an_objection() -> None:
    mixed = ["Asks about ROI. Has to check with my boss"]
    assert BUILT_IN_CLASSIFIER.classify(mixed, lacks_authority=False).kind == "price"  # tie
    with_bant = BUILT_IN_CLASSIFIER.classify(mixed, lacks_authority=True)
    assert (with_bant.kind, with_bant.confidence) == ("authority", 60)
    assert with_bant.cues[-1] == BANT_CUE
    assert BUILT_IN_CLASSIFIER.classify(["Nice chat"], lacks_authority=True).kind == NONE


def test_ties_follow_price_trust_authority() -> None:
    classifier = ObjectionClassifier(
        {"price": [("alpha", 1)], "trust": [("beta", 1)], "authority": [("gamma", 1)]},
        bant_points=0,
    )
    assert classifier.classify(["gamma beta"]).kind == "trust"
    assert classifier.classify(["gamma beta alpha"]).kind == "price"
    assert classifier.classify(["gamma"]).kind == "authority"


def test_toml_cues_replace_the_built_in_list_of_their_class_only() -> None:
    configured = ObjectionSettings.model_validate(
        {"classes": {"trust": [{"cues": ["lo pienso"], "points": 2}]}}
    )
    classifier = classifier_for(configured)

    assert classifier.classify(["Lo pienso"]).kind == "trust"
    # "too expensive" was a built-in trust cue: replaced, so it no longer counts.
    assert classifier.classify(["Too expensive"]).kind == NONE
    # Price keeps its built-in cues; the TOML points weigh in: 2 against 1.
    both = classifier.classify(["Lo pienso; what's the ROI?"])
    assert (both.kind, both.confidence) == ("trust", 67)


def test_a_verdict_below_the_minimum_confidence_is_none() -> None:
    strict = classifier_for(ObjectionSettings(min_confidence=70))
    verdict = strict.classify(["ROI? too expensive"], lacks_authority=False)
    assert (verdict.kind, verdict.confidence) == (NONE, 0)
    assert verdict.cues == ("roi", "too expensive")  # still explained


def test_a_cue_without_any_word_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="holds no word"):
        ObjectionSettings.model_validate({"classes": {"price": [{"cues": ["ROI", " ?! "]}]}})


def test_every_built_in_cue_matches_its_own_phrase() -> None:
    for kind, phrases in BUILT_IN.items():
        for phrase in phrases:
            sample = phrase.replace("#", "30")
            assert phrase in BUILT_IN_CLASSIFIER.classify([sample]).cues, (kind, phrase)


_WORDS = st.sampled_from(
    [
        "roi",
        "30",
        "días",
        "en",
        "mi",
        "jefe",
        "too",
        "expensive",
        "ya",
        "veremos",
        "CHECK WITH MY BOSS",
        "comparativa",
        "¿",
        "!",
        "hola",
    ]
)
_TEXTS = st.lists(
    st.one_of(st.lists(_WORDS, max_size=12).map(" ".join), st.text(max_size=60)), max_size=4
)


@settings(deadline=None)
@given(texts=_TEXTS, lacks_authority=st.booleans())
def test_the_verdict_is_deterministic_and_bounded(texts: list[str], lacks_authority: bool) -> None:
    first = BUILT_IN_CLASSIFIER.classify(texts, lacks_authority=lacks_authority)
    again = classifier_for(ObjectionSettings()).classify(
        list(texts), lacks_authority=lacks_authority
    )

    assert first == again
    assert 0 <= first.confidence <= 100
    assert (first.kind == NONE) == (first.confidence == 0)
    if first.kind != NONE:
        assert first.confidence >= 33  # a winner holds at least a third of the points
        assert first.cues
    # Order of the texts and repetition never change the verdict.
    assert (
        BUILT_IN_CLASSIFIER.classify(
            [*reversed(texts), *texts], lacks_authority=lacks_authority
        ).as_state()
        == first.as_state()
    )
