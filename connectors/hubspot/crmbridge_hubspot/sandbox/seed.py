"""The demo dataset: ~200 synthetic B2B leads, owners, sequences, lists and ~120 days
of canonical events for those leads, all deterministic for a given ``rng_seed``/``now``.

Leads are Spanish and English, with the messy data a real CRM holds: decision-maker
titles in Spanish and English, masculine and feminine ("Directora de IT", "CIO",
"Jefe de Operaciones"), company sizes such as "600", "1.000", "500-1000" or "n/a",
BANT answers from the web forms (``crmbridge_budget``, ``crmbridge_need``,
``crmbridge_timeline``) and HubSpot's ``hs_buying_role``. Each lead follows a persona
(hot, warm, cold, dormant) that shapes its events; the CRM-side activity properties
(page views, last open/click, recent conversion, last reply) agree with those events.

The crmbridge output properties (``crmbridge_score``...) are *not* created: crmbridge
creates them itself through the API. Only the three BANT form fields exist, in the
``crmbridge_forms`` group, as an admin would have created them for the forms.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crmbridge_hubspot.sandbox.records import SEED_SOURCE
from crmbridge_hubspot.sandbox.schema import Option, PropertyDef, PropertyGroup
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.timeutil import iso_ms, truncate_ms, utc_now

SITE = "https://acme.es"
DAYS = 120
FORMS_GROUP = "crmbridge_forms"

_FEMALE_ES = [
    "Ana",
    "Lucía",
    "Carmen",
    "María",
    "Elena",
    "Laura",
    "Marta",
    "Paula",
    "Sara",
    "Cristina",
    "Isabel",
    "Raquel",
    "Nuria",
    "Beatriz",
    "Sofía",
    "Irene",
    "Pilar",
]
_MALE_ES = [
    "Jorge",
    "Javier",
    "Carlos",
    "David",
    "Pablo",
    "Miguel",
    "Sergio",
    "Alejandro",
    "Daniel",
    "Manuel",
    "Antonio",
    "Álvaro",
    "Raúl",
    "Íñigo",
    "Fernando",
    "Andrés",
]
_SURNAMES_ES = [
    "García",
    "Martínez",
    "López",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Serrano",
    "Molina",
    "Ortega",
    "Castro",
    "Iglesias",
    "Núñez",
    "Ibáñez",
    "Peña",
    "Cano",
]
_FEMALE_EN = [
    "Sarah",
    "Emily",
    "Olivia",
    "Charlotte",
    "Hannah",
    "Rachel",
    "Jessica",
    "Grace",
    "Amelia",
    "Chloe",
]
_MALE_EN = [
    "James",
    "Oliver",
    "Thomas",
    "Michael",
    "William",
    "George",
    "Henry",
    "Jack",
    "Samuel",
    "Daniel",
]
_SURNAMES_EN = [
    "Jones",
    "Smith",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Walker",
    "Wright",
    "Robinson",
    "Clarke",
    "Hughes",
    "Green",
    "Hall",
    "Wood",
    "Turner",
    "Price",
]

#: (name, email domain, company size as typed into the CRM)
_COMPANIES_ES = [
    ("Logística Ibérica", "logistica-iberica.es", "600"),
    ("Transportes Norte", "transportes-norte.es", "1.200"),
    ("Frío Express", "frioexpress.es", "350"),
    ("Distribuciones Levante", "dislevante.es", "500-1000"),
    ("Grupo Alimentario Duero", "gaduero.es", "2.500"),
    ("Cerámicas del Mediterráneo", "ceramed.es", "180"),
    ("Hospital San Rafael", "hsanrafael.es", "1.000"),
    ("Aceros del Cantábrico", "acerosdelcantabrico.es", "800"),
    ("Farmacéutica Tajo", "farmatajo.es", "n/a"),
    ("Seguros Atlántico", "segurosatlantico.es", "3000"),
    ("Bodegas Ribera Alta", "riberaalta.es", "45"),
    ("Textil Galicia", "textilgalicia.es", "220"),
    ("Energía Solar Sur", "solarsur.es", "1000+"),
    ("Construcciones Ebro", "cebro.es", "650"),
    ("Hoteles Costa Blanca", "hotelescb.es", "100-500"),
    ("Papelera del Norte", "papeleranorte.es", "90"),
    ("Autopartes Navarra", "autopartesnavarra.es", "5.000"),
    ("Clínicas Dentales Sonríe", "sonrie.es", "30"),
]
_COMPANIES_EN = [
    ("Northwind Freight", "northwind.co.uk", "2,500"),
    ("Harbourline", "harbourline.com", "750"),
    ("Blue Ridge Logistics", "blueridgelogistics.com", "1200"),
    ("Kestrel Manufacturing", "kestrelmfg.co.uk", "400"),
    ("Summit Health Partners", "summithealth.com", "10,000"),
    ("Oakfield Retail", "oakfieldretail.co.uk", "5000+"),
    ("Brightwater Utilities", "brightwater.co.uk", "n/a"),
    ("Redstone Insurance", "redstoneins.com", "600"),
    ("Cobalt Systems", "cobaltsystems.io", "60"),
    ("Meridian Foods", "meridianfoods.com", "500-1000"),
    ("Thames Valley Logistics", "tvlogistics.co.uk", "300"),
    ("Granite Bank", "granitebank.com", "unknown"),
]

#: Decision-maker titles: (masculine, feminine) in Spanish; one form in English.
_DM_TITLES_ES = [
    ("Director de IT", "Directora de IT"),
    ("DIRECTOR DE TECNOLOGÍA", "Directora de Tecnología"),
    ("Director de Sistemas", "Directora de Sistemas"),
    ("CIO", "CIO"),
    ("CTO", "CTO"),
    ("Jefe de Operaciones", "Jefa de Operaciones"),
    ("Director General", "Directora General"),
    ("Director Financiero", "Directora Financiera"),
]
_DM_TITLES_EN = [
    "IT Director",
    "Director of IT",
    "Head of IT",
    "CIO",
    "Chief Information Officer",
    "VP Operations",
    "Head of Operations",
    "IT Manager",
]
_OTHER_TITLES_ES = [
    ("Analista de Sistemas", "Analista de Sistemas"),
    ("Técnico de Soporte", "Técnica de Soporte"),
    ("Responsable de Compras", "Responsable de Compras"),
    ("Ingeniero de Software", "Ingeniera de Software"),
    ("Administrativo", "Administrativa"),
    ("Consultor", "Consultora"),
    ("Estudiante", "Estudiante"),
    ("Coordinador de Logística", "Coordinadora de Logística"),
]
_OTHER_TITLES_EN = [
    "Software Engineer",
    "Operations Analyst",
    "Marketing Manager",
    "Office Manager",
    "Procurement Specialist",
    "Project Manager",
    "Student",
]
_NEEDS = [
    "route optimisation",
    "optimización de rutas",
    "warehouse visibility",
    "visibilidad de almacén",
    "fleet tracking",
    "integración con el ERP",
    "reduce manual reporting",
    "trazabilidad de pedidos",
    "cold-chain monitoring",
]
_BLOG = [
    "como-reducir-costes-logisticos",
    "kpis-de-almacen",
    "route-planning-101",
    "guia-trazabilidad",
    "fleet-electrification",
]
_CASE_STUDIES = ["frio-express", "northwind-freight", "logistica-iberica", "harbourline"]
_ASSETS = [
    ("guide", "guia-optimizacion-rutas"),
    ("guide", "warehouse-kpi-guide"),
    ("case_study", "caso-de-exito-frio-express"),
    ("case_study", "northwind-case-study"),
    ("whitepaper", "estado-logistica-2026"),
    ("checklist", "checklist-rfp"),
]
_WEBINARS = [
    "Optimiza tus rutas en 30 minutos",
    "Warehouse visibility live demo",
    "Tendencias logística 2026",
]
_CAMPAIGNS = ["nurture-logistica-q3", "nurture-it-directors", "newsletter-mensual"]
_FORMS = {
    "demo-request": "Solicitud de demo",
    "contact-us": "Contacto",
    "ebook-download": "Descarga de guía",
    "webinar-signup": "Registro webinar",
}
_PERSONAS = (("hot", 0.12), ("warm", 0.33), ("cold", 0.35), ("dormant", 0.20))

OWNERS = [
    (
        "41629779",
        "lucia.fernandez@acme.es",
        "Lucía",
        "Fernández",
        9586504,
        ("368389", "Ventas España"),
    ),
    ("41629780", "mark.davies@acme.es", "Mark", "Davies", 9586505, ("368390", "Sales UK")),
    (
        "41629781",
        "irene.castillo@acme.es",
        "Irene",
        "Castillo",
        9586506,
        ("368389", "Ventas España"),
    ),
    ("41629782", "tom.walsh@acme.es", "Tom", "Walsh", 9586507, ("368390", "Sales UK")),
    ("41629783", "pilar.ortega@acme.es", "Pilar", "Ortega", 9586508, ("368389", "Ventas España")),
]


@dataclass
class _Lead:
    persona: str
    spanish: bool
    properties: dict[str, str]
    email: str
    events: list[tuple[datetime, str, dict[str, Any]]]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).lower().replace(" ", "")


def form_properties(now: datetime) -> tuple[PropertyGroup, list[PropertyDef]]:
    """The BANT form fields an admin created, and their group."""
    group = PropertyGroup(FORMS_GROUP, "crmbridge forms", 10)

    def options(*pairs: tuple[str, str]) -> tuple[Option, ...]:
        return tuple(Option(label, value, i) for i, (value, label) in enumerate(pairs))

    common: dict[str, Any] = {
        "group_name": FORMS_GROUP,
        "form_field": True,
        "created_at": now,
        "updated_at": now,
    }
    return group, [
        PropertyDef(
            name="crmbridge_budget",
            label="Budget",
            type="enumeration",
            field_type="select",
            options=options(
                ("approved", "Approved"),
                ("in_estimation", "In estimation"),
                ("depends_on_business_case", "Depends on a business case"),
            ),
            **common,
        ),
        PropertyDef(
            name="crmbridge_need",
            label="What do you need to solve?",
            type="string",
            field_type="textarea",
            **common,
        ),
        PropertyDef(
            name="crmbridge_timeline",
            label="Timeline",
            type="enumeration",
            field_type="select",
            options=options(
                ("this_quarter", "This quarter"),
                ("within_30_days", "Within 30 days"),
                ("next_year", "Next year"),
            ),
            **common,
        ),
    ]


def _persona(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, share in _PERSONAS:
        total += share
        if roll < total:
            return name
    return _PERSONAS[-1][0]


def _profile(rng: random.Random, persona: str, taken: set[str]) -> _Lead:
    spanish = rng.random() < 0.65
    female = rng.random() < 0.45
    if spanish:
        first = rng.choice(_FEMALE_ES if female else _MALE_ES)
        last = rng.choice(_SURNAMES_ES)
        company, domain, size = rng.choice(_COMPANIES_ES)
    else:
        first = rng.choice(_FEMALE_EN if female else _MALE_EN)
        last = rng.choice(_SURNAMES_EN)
        company, domain, size = rng.choice(_COMPANIES_EN)
    decision_maker = (
        rng.random() < {"hot": 0.75, "warm": 0.45, "cold": 0.25, "dormant": 0.3}[persona]
    )
    if spanish:
        pair = rng.choice(_DM_TITLES_ES if decision_maker else _OTHER_TITLES_ES)
        title = pair[1] if female else pair[0]
    else:
        title = rng.choice(_DM_TITLES_EN if decision_maker else _OTHER_TITLES_EN)
    local = f"{_ascii(first)}.{_ascii(last)}"
    email = f"{local}@{domain}"
    suffix = 2
    while email in taken:
        email = f"{local}{suffix}@{domain}"
        suffix += 1
    taken.add(email)
    properties = {"email": email, "firstname": first, "lastname": last}
    if rng.random() < 0.93:
        properties["company"] = company
    if rng.random() < 0.9:
        properties["jobtitle"] = title
    if rng.random() < 0.85:
        properties["numemployees"] = size
    properties["country"] = "Spain" if spanish else rng.choice(["United Kingdom", "United States"])
    properties["website"] = f"https://www.{domain}"
    return _Lead(persona, spanish, properties, email, [])


def _bant(rng: random.Random, lead: _Lead, decision_maker_title: bool) -> None:
    p = lead.properties
    eager = {"hot": 0.9, "warm": 0.55, "cold": 0.2, "dormant": 0.3}[lead.persona]
    if rng.random() < eager:
        weights = [0.6, 0.25, 0.15] if lead.persona == "hot" else [0.25, 0.45, 0.3]
        p["crmbridge_budget"] = rng.choices(
            ["approved", "in_estimation", "depends_on_business_case"], weights
        )[0]
    if rng.random() < eager:
        p["crmbridge_need"] = rng.choice(_NEEDS)
    if rng.random() < eager:
        weights = [0.5, 0.3, 0.2] if lead.persona == "hot" else [0.2, 0.2, 0.6]
        p["crmbridge_timeline"] = rng.choices(
            ["this_quarter", "within_30_days", "next_year"], weights
        )[0]
    if rng.random() < 0.6:
        if decision_maker_title:
            role = rng.choice(
                [
                    "DECISION_MAKER",
                    "DECISION_MAKER",
                    "BUDGET_HOLDER",
                    "DECISION_MAKER;BUDGET_HOLDER",
                    "EXECUTIVE_SPONSOR",
                ]
            )
        else:
            role = rng.choice(
                ["END_USER", "INFLUENCER", "CHAMPION", "OTHER", "INFLUENCER;END_USER"]
            )
        p["hs_buying_role"] = role


def _is_decision_maker(title: str) -> bool:
    text = _ascii(title)
    keys = (
        "director",
        "directora",
        "cio",
        "cto",
        "chief",
        "head",
        "jefe",
        "jefa",
        "vp",
        "itmanager",
    )
    return any(k in text for k in keys)


def _events(rng: random.Random, lead: _Lead, start: datetime, now: datetime) -> None:
    counts = {"hot": (14, 26), "warm": (6, 14), "cold": (1, 5), "dormant": (3, 8)}[lead.persona]
    total = rng.randint(*counts)
    if lead.persona == "dormant":
        first, last = start, now - timedelta(days=95)
    elif lead.persona == "hot":
        first, last = now - timedelta(days=45), now - timedelta(hours=2)
    else:
        first, last = start, now - timedelta(hours=6)
    span = (last - first).total_seconds()
    kinds = [
        "page_view",
        "page_view",
        "page_view",
        "email_open",
        "email_click",
        "content_download",
        "webinar_attended",
        "form_submit",
    ]
    for _ in range(total):
        moment = truncate_ms(first + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)
        kind = rng.choice(kinds)
        lead.events.append((moment, kind, _event_properties(rng, kind, lead.persona)))
    if lead.persona == "hot":
        for _ in range(rng.randint(1, 3)):
            moment = now - timedelta(days=rng.uniform(0.2, 30))
            lead.events.append(
                (moment.replace(microsecond=0), "page_view", {"url": f"{SITE}/pricing"})
            )
        if rng.random() < 0.6:
            moment = now - timedelta(days=rng.uniform(0.5, 14))
            lead.events.append(
                (moment.replace(microsecond=0), "meeting_booked", {"meeting_type": "demo"})
            )


def _event_properties(rng: random.Random, kind: str, persona: str) -> dict[str, Any]:
    if kind == "page_view":
        pages = [
            "/pricing",
            "/precios",
            "/producto",
            "/integraciones",
            "/demo",
            f"/blog/{rng.choice(_BLOG)}",
            f"/casos-de-exito/{rng.choice(_CASE_STUDIES)}",
        ]
        return {"url": SITE + rng.choice(pages)}
    if kind == "content_download":
        asset_type, asset = rng.choice(_ASSETS)
        return {"asset_type": asset_type, "asset": asset}
    if kind == "webinar_attended":
        low = 70 if persona == "hot" else 10
        return {"webinar": rng.choice(_WEBINARS), "watched_percent": rng.randint(low, 100)}
    if kind == "email_open":
        return {"campaign": rng.choice(_CAMPAIGNS)}
    if kind == "email_click":
        campaign = rng.choice(_CAMPAIGNS)
        target = rng.choice(
            [
                f"{SITE}/case-study/{rng.choice(_CASE_STUDIES)}",
                f"{SITE}/blog/{rng.choice(_BLOG)}",
                f"{SITE}/pricing",
            ]
        )
        return {"campaign": campaign, "url": target}
    form = rng.choice(sorted(_FORMS))
    return {"form": form, "page": f"{SITE}/{form}"}


def _derived(rng: random.Random, lead: _Lead, now: datetime) -> tuple[datetime, datetime]:
    """Set the CRM-side activity properties from the events; return created/updated."""
    p = lead.properties
    events = sorted(lead.events, key=lambda e: e[0])
    created = (events[0][0] if events else now - timedelta(days=rng.uniform(1, DAYS))) - timedelta(
        hours=rng.uniform(1, 72)
    )
    views = sum(1 for _, kind, _ in events if kind == "page_view")
    if views:
        p["hs_analytics_num_page_views"] = str(views)
    last: dict[str, datetime] = {}
    for moment, kind, props in events:
        last[kind] = moment
        if kind == "form_submit":
            p["recent_conversion_event_name"] = _FORMS[str(props["form"])]
    if "email_open" in last:
        p["hs_email_last_open_date"] = iso_ms(last["email_open"])
    if "email_click" in last:
        p["hs_email_last_click_date"] = iso_ms(last["email_click"])
    if "form_submit" in last:
        p["recent_conversion_date"] = iso_ms(last["form_submit"])
    updated = max([created, *last.values()])
    return created, updated


def _lifecycle(rng: random.Random, lead: _Lead) -> str:
    options = {
        "hot": (["lead", "marketingqualifiedlead", "salesqualifiedlead"], [0.3, 0.5, 0.2]),
        "warm": (["subscriber", "lead", "marketingqualifiedlead"], [0.2, 0.6, 0.2]),
        "cold": (["subscriber", "lead"], [0.5, 0.5]),
        "dormant": (["lead", "marketingqualifiedlead", "customer"], [0.7, 0.25, 0.05]),
    }[lead.persona]
    return rng.choices(options[0], options[1])[0]


def seed_demo(
    state: SandboxState,
    rng_seed: int = 7,
    now: datetime | None = None,
    *,
    contacts: int = 200,
) -> list[dict[str, Any]]:
    """Fill ``state`` with the demo account; return the canonical events (sorted).

    Deterministic for a given ``rng_seed`` and ``now`` on a fresh state (``now``
    defaults to the current time). The events are also kept in ``state.demo_events``.
    """
    rng = random.Random(rng_seed)
    now = truncate_ms(now or utc_now()).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    group, fields = form_properties(start)
    if state.group(group.name) is None:
        state.add_group(group)
    for definition in fields:
        if state.contact_property(definition.name) is None:
            state.add_contact_property(definition)
    for owner_id, email, first, last, user_id, team in OWNERS:
        state.add_owner(owner_id, email, first, last, user_id, teams=[team])
    owner_ids = [o[0] for o in OWNERS]

    taken: set[str] = set()
    leads: list[_Lead] = []
    for _ in range(contacts):
        lead = _profile(rng, _persona(rng), taken)
        _bant(rng, lead, _is_decision_maker(lead.properties.get("jobtitle", "")))
        _events(rng, lead, start, now)
        leads.append(lead)

    timed = []
    for lead in leads:
        created, updated = _derived(rng, lead, now)
        lead.properties["lifecyclestage"] = _lifecycle(rng, lead)
        if (lead.persona in ("hot", "warm") and rng.random() < 0.5) or rng.random() < 0.15:
            lead.properties["hubspot_owner_id"] = rng.choice(owner_ids)
        timed.append((created, updated, lead))
    # A few messy records: shouting emails, missing names, "n/a" sizes.
    for _, _, lead in rng.sample(timed, 4):
        lead.properties["numemployees"] = rng.choice(["n/a", "", "?", "500+"])
    for _, _, lead in rng.sample(timed, 3):
        lead.properties.pop("firstname", None)

    timed.sort(key=lambda item: (item[0], item[2].email))
    ids: dict[str, str] = {}
    for created, updated, lead in timed:
        contact = state.create_contact(
            lead.properties,
            source=SEED_SOURCE,
            as_user=True,
            created_at=created,
            updated_at=updated,
            notify=False,
        )
        ids[lead.email] = contact.id

    _sequences_and_replies(state, rng, timed, ids, now)
    state.create_list("Reactivation campaign", "MANUAL")
    state.create_list("Archived leads (crmbridge)", "MANUAL")

    events: list[dict[str, Any]] = []
    for _, _, lead in timed:
        for moment, kind, props in lead.events:
            events.append(
                {
                    "type": kind,
                    "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "contact": {"email": lead.email},
                    "properties": props,
                }
            )
    events.sort(key=lambda e: (e["occurred_at"], e["contact"]["email"], e["type"]))
    for number, event in enumerate(events, start=1):
        event["event_id"] = f"demo-{rng_seed}-{number:05d}"
    ordered = [
        {
            "event_id": e["event_id"],
            "type": e["type"],
            "occurred_at": e["occurred_at"],
            "contact": e["contact"],
            "properties": e["properties"],
        }
        for e in events
    ]
    state.demo_events = ordered
    return ordered


def _sequences_and_replies(
    state: SandboxState,
    rng: random.Random,
    timed: Sequence[tuple[datetime, datetime, _Lead]],
    ids: dict[str, str],
    now: datetime,
) -> None:
    spanish = state.add_sequence("2001", "Seguimiento lead caliente (ES)", OWNERS[0][4])
    english = state.add_sequence("2002", "IT director outreach (EN)", OWNERS[1][4])
    state.add_sequence("2003", "Reactivación 90 días", OWNERS[0][4], unenroll_on_reply=False)
    candidates = [lead for _, _, lead in timed if lead.persona in ("hot", "warm")]
    enrolled = rng.sample(candidates, min(12, len(candidates)))
    for lead in enrolled:
        sequence, owner = (spanish, OWNERS[0]) if lead.spanish else (english, OWNERS[1])
        state.enroll(ids[lead.email], sequence.id, owner[1], owner[4])
    # Three enrolled leads already replied (HubSpot unenrolled them); two more replied
    # to a one-off sales email. The other enrolled leads are left for the demo.
    others = [lead for lead in candidates if lead not in enrolled]
    replied = enrolled[:3] + rng.sample(others, min(2, len(others)))
    for lead in replied:
        moment = now - timedelta(days=rng.uniform(0.5, 10))
        state.update_contacts(
            [(ids[lead.email], {"hs_sales_email_last_replied": iso_ms(moment)})],
            source=SEED_SOURCE,
            as_user=True,
        )
