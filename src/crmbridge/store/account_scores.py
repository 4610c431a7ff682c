"""The queries behind the account score: which companies' contacts were scored anew,
and the current scores of every contact of a company."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, select

from crmbridge.store.chunks import chunks
from crmbridge.store.session import Session
from crmbridge.store.tables import ContactCompanyRow, ContactRow, ScoreRow

_LINKS = ContactCompanyRow.__table__  # type: ignore[attr-defined]
_SCORES = ScoreRow.__table__  # type: ignore[attr-defined]
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]


def rescored_companies(
    session: Session, crm: str, after_score_id: int, limit: int
) -> tuple[list[str], int]:
    """The companies (of ``crm``) of the contacts scored in the next ``limit`` score
    rows after ``after_score_id``, and the last score row id read (``after_score_id``
    when there is none)."""
    linked = and_(_LINKS.c.contact_id == _SCORES.c.contact_id, _LINKS.c.crm == crm)
    query = (
        select(_SCORES.c.id, _LINKS.c.company_crm_id)
        .select_from(_SCORES.outerjoin(_LINKS, linked))
        .where(_SCORES.c.id > after_score_id)
        .order_by(_SCORES.c.id)
        .limit(limit)
    )
    last = after_score_id
    companies: dict[str, None] = {}
    for row in session.execute(query):
        last = max(last, int(row.id))
        if row.company_crm_id is not None:
            companies[str(row.company_crm_id)] = None
    return list(companies), last


def current_scores(
    session: Session, crm: str, company_ids: Sequence[str]
) -> dict[str, dict[int, int]]:
    """The current score total of every scored contact (by id) of each company (a
    company without a scored contact is left out)."""
    found: dict[str, dict[int, int]] = {}
    joined = _LINKS.join(
        _SCORES, and_(_SCORES.c.contact_id == _LINKS.c.contact_id, _SCORES.c.is_current)
    )
    for chunk in chunks(list(company_ids)):
        query = (
            select(_LINKS.c.company_crm_id, _LINKS.c.contact_id, _SCORES.c.total)
            .select_from(joined)
            .where(_LINKS.c.crm == crm, _LINKS.c.company_crm_id.in_(chunk))
        )
        for company_id, contact_id, total in session.execute(query):
            found.setdefault(str(company_id), {})[int(contact_id)] = int(total)
    return found


def companies_of(
    session: Session, crm: str, contact_crm_ids: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """The store id and company of each contact (by CRM id) linked to a company."""
    found: dict[str, tuple[int, str]] = {}
    joined = _CONTACTS.join(_LINKS, _LINKS.c.contact_id == _CONTACTS.c.id)
    for chunk in chunks(list(contact_crm_ids)):
        query = (
            select(_CONTACTS.c.crm_id, _CONTACTS.c.id, _LINKS.c.company_crm_id)
            .select_from(joined)
            .where(
                _CONTACTS.c.crm == crm,
                _CONTACTS.c.crm_id.in_(chunk),
                _LINKS.c.company_crm_id.is_not(None),
            )
        )
        for crm_id, contact_id, company_id in session.execute(query):
            found[str(crm_id)] = (int(contact_id), str(company_id))
    return found
