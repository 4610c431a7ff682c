"""End to end through ``Pipeline.run_once`` and the real HubSpot connector, on the sandbox.

A lead's next question follows them up the ladder (never the phone before they are
hot); a form fill adds industry, size and country from the companies file only where
HubSpot has nothing, and says where they came from; what sales write about a lead's
price objection becomes ``crmbridge_objection`` with a confidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from crmbridge.daemon.http import create_app

from .conftest import INGEST_TOKEN, Bridge

QUESTION = "crmbridge_next_question"
SOURCE = "crmbridge_enrichment_source"
COMPANY_FACTS = ("industry", "numemployees", "country", SOURCE)
OBJECTION = ("crmbridge_objection", "crmbridge_objection_confidence")


def question(bridge: Bridge, crm_id: str) -> str | None:
    return bridge.crm(crm_id, QUESTION)[QUESTION]


def test_the_next_question_follows_the_lead_up_the_ladder(bridge_factory: Any) -> None:
    bridge: Bridge = bridge_factory()
    ana = bridge.add_contact(email="ana@acme.es", firstname="Ana")
    email = "ana@acme.es"
    asked = []

    bridge.cycle()  # a subscriber: who are you?
    asked.append(question(bridge, ana))

    bridge.edit(ana, jobtitle="CIO", company="Acme")
    bridge.event(email, "page_view", url="https://acme.es/pricing")
    bridge.cycle()  # engaged: a lead; the company's size comes next
    asked.append(question(bridge, ana))

    bridge.edit(ana, numemployees="600")
    bridge.cycle()  # 50 fit + 15 engagement: an MQL; what do they need?
    asked.append(question(bridge, ana))

    bridge.edit(ana, crmbridge_need="Route planning", crmbridge_timeline="this_quarter")
    bridge.cycle()  # nothing left for a warm MQL, and the phone waits for hot
    asked.append(question(bridge, ana))

    for minutes_ago in (30, 20, 10):
        bridge.event(email, "page_view", minutes_ago, url="https://acme.es/precios")
    bridge.event(email, "meeting_booked", 3)
    bridge.cycle()  # 50 + 45 + 30 = 125: hot; budget first, then the phone
    asked.append(question(bridge, ana))

    bridge.edit(ana, crmbridge_budget="approved")
    bridge.cycle()
    asked.append(question(bridge, ana))

    bridge.edit(ana, phone="+34 600 000 000")
    bridge.cycle()
    asked.append(question(bridge, ana))

    # The sandbox stores a cleared value as absent.
    assert asked == [
        "jobtitle",
        "numemployees",
        "crmbridge_need",
        None,
        "crmbridge_budget",
        "phone",
        None,
    ]
    assert bridge.crm(ana, "crmbridge_hot", "crmbridge_stage") == {
        "crmbridge_hot": "true",
        "crmbridge_stage": "mql",
    }


def test_the_profile_endpoint_answers_what_the_crm_was_given(bridge_factory: Any) -> None:
    bridge: Bridge = bridge_factory()
    ana = bridge.add_contact(email="Ana.Garcia@Acme.es", firstname="Ana", jobtitle="CIO")
    bridge.cycle()
    app = create_app(bridge.store, bridge.pipeline.config)

    with TestClient(app) as client:
        answer = client.get(
            "/v1/profile/ana.garcia@ACME.ES",
            headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
        )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_question"] == question(bridge, ana) == "company"
    assert body["known"] == ["firstname", "jobtitle"]
    assert (body["stage"], body["hot"]) == ("subscriber", False)
    assert body["score"] == int(bridge.crm(ana, "crmbridge_score")["crmbridge_score"] or -1)


def companies_file(folder: Path) -> Path:
    path = folder / "companies.csv"
    path.write_text(
        "domain,sector,employees,country\n"
        "acme.es,Logistics,600,Spain\n"
        "globex.com,Manufacturing,1500,United States\n",
        encoding="utf-8",
    )
    return path


def enrichment(path: Path) -> dict[str, Any]:
    """``[enrichment]`` on, reading ``path``."""
    return {"enabled": True, "path": str(path)}


def test_a_form_fill_enriches_only_empty_fields_and_names_the_source(
    bridge_factory: Any, tmp_path: Path
) -> None:
    bridge: Bridge = bridge_factory(enrichment=enrichment(companies_file(tmp_path)))
    luis = bridge.add_contact(email="luis@acme.es", firstname="Luis", country="Portugal")
    maria = bridge.add_contact(email="maria@gmail.com", firstname="María")
    pepe = bridge.add_contact(email="pepe@unknown-company.example", firstname="Pepe")
    quiet = bridge.add_contact(email="quiet@globex.com", firstname="Quiet")
    for email in ("luis@acme.es", "maria@gmail.com", "pepe@unknown-company.example"):
        bridge.event(email, "form_submit", form="demo-request")

    bridge.cycle()

    # Luis typed his country: it stays; the rest comes from the file, with its source.
    assert bridge.crm(luis, *COMPANY_FACTS) == {
        "industry": "Logistics",
        "numemployees": "600",
        "country": "Portugal",
        SOURCE: "file:companies.csv",
    }
    # A free-mail address, an unknown domain, and no form fill: nothing is added.
    empty = dict.fromkeys(COMPANY_FACTS)
    assert bridge.crm(maria, *COMPANY_FACTS) == empty
    assert bridge.crm(pepe, *COMPANY_FACTS) == empty
    assert bridge.crm(quiet, *COMPANY_FACTS) == empty
    assert bridge.handoff_state(luis)["enrichment"] == {
        "source": "file:companies.csv",
        "fields": ["industry", "numemployees"],
    }

    # Luis corrects his industry; a second form fill never overwrites what he typed.
    bridge.edit(luis, industry="Retail")
    bridge.cycle()
    bridge.event("luis@acme.es", "form_submit", 0.5, form="webinar")
    bridge.cycle()

    assert bridge.crm(luis, "industry", "numemployees")["industry"] == "Retail"
    assert bridge.crm(luis, "numemployees")["numemployees"] == "600"


def test_a_form_fill_with_the_company_size_typed_in_keeps_it(
    bridge_factory: Any, tmp_path: Path
) -> None:
    bridge: Bridge = bridge_factory(enrichment=enrichment(companies_file(tmp_path)))
    eva = bridge.add_contact(email="eva@globex.com", firstname="Eva")
    # The form's own answers arrive with the event, before HubSpot's copy is read back.
    bridge.event("eva@globex.com", "form_submit", numemployees="40")

    bridge.cycle()

    held = bridge.crm(eva, *COMPANY_FACTS)
    assert held["numemployees"] is None  # the person's "40" is theirs to sync, not ours
    assert (held["industry"], held["country"]) == ("Manufacturing", "United States")


def test_a_bad_companies_file_never_stops_the_cycle(bridge_factory: Any, tmp_path: Path) -> None:
    bad = tmp_path / "companies.csv"
    bad.write_text("name,sector\nAcme,Logistics\n", encoding="utf-8")
    bridge: Bridge = bridge_factory(enrichment=enrichment(bad))
    ivan = bridge.add_contact(email="ivan@acme.es", firstname="Iván")
    bridge.event("ivan@acme.es", "form_submit")

    bridge.cycle()

    assert bridge.crm(ivan, "crmbridge_score")["crmbridge_score"] == "0"
    assert bridge.crm(ivan, "industry", SOURCE) == {"industry": None, SOURCE: None}
    assert "enriched_form_at" not in bridge.handoff_state(ivan)

    # Fixed file: the same form fill is enriched on the next cycle.
    companies_file(tmp_path)
    bridge.edit(ivan, lastname="Petrov")
    bridge.cycle()
    assert bridge.crm(ivan, "industry", SOURCE) == {
        "industry": "Logistics",
        SOURCE: "file:companies.csv",
    }


def test_an_objection_is_classified_from_what_sales_wrote(bridge_factory: Any) -> None:
    bridge: Bridge = bridge_factory()
    real = bridge.add_contact(email="rosa@acme.es", firstname="Rosa")
    boss = bridge.add_contact(email="tom@globex.com", firstname="Tom")
    silent = bridge.add_contact(email="kim@initech.example", firstname="Kim")
    told = bridge.add_contact(email="lia@umbrella.example", firstname="Lía")
    bridge.cycle()
    # A verdict sent by a sales tool as an event, not typed into HubSpot.
    bridge.event(
        "lia@umbrella.example",
        "sales_feedback",
        status="not_qualified",
        reason="No depende de mí, lo decide el comité de dirección",
    )

    bridge.edit(
        real,
        crmbridge_sales_feedback="bad_timing",
        crmbridge_feedback_reason="Pregunta por el ROI, pide una comparativa; decide en 30 DÍAS",
    )
    bridge.edit(boss, crmbridge_sales_notes="Too expensive for now. Needs to CHECK WITH MY BOSS.")
    bridge.cycle()

    assert bridge.crm(real, *OBJECTION) == {
        "crmbridge_objection": "price",
        "crmbridge_objection_confidence": "86",
    }
    assert bridge.crm(boss, *OBJECTION) == {
        "crmbridge_objection": "authority",
        "crmbridge_objection_confidence": "60",
    }
    assert bridge.crm(told, *OBJECTION) == {
        "crmbridge_objection": "authority",
        "crmbridge_objection_confidence": "100",
    }
    assert bridge.crm(silent, *OBJECTION) == dict.fromkeys(OBJECTION)
    kept = bridge.handoff_state(real)["objection"]
    assert kept == {
        "class": "price",
        "confidence": 86,
        "cues": ["roi", "comparativa", "en # dias", "BANT: no budget authority"],
    }

    # Sales clear the notes: the verdict goes back to none.
    bridge.edit(boss, crmbridge_sales_notes="")
    bridge.cycle()
    assert bridge.crm(boss, *OBJECTION) == {
        "crmbridge_objection": "none",
        "crmbridge_objection_confidence": "0",
    }
