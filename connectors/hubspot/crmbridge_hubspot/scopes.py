"""The private-app scopes crmbridge's features need, and what a token's lack of them costs.

HubSpot checks an endpoint's whole scope set: adding a list member needs
``crm.lists.read`` as well as ``crm.lists.write``, and every sequences endpoint needs
``automation.sequences.read``, enrolling ``automation.sequences.enrollments.write``
too. A write scope does not grant reading. ``crmbridge check`` names each missing scope
with the features that need it, so an admin knows what to add before a hand-off
meets a 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"
OWNERS_READ = "crm.objects.owners.read"
SEQUENCES_READ = "automation.sequences.read"
ENROLLMENTS_WRITE = "automation.sequences.enrollments.write"
LISTS_READ = "crm.lists.read"
LISTS_WRITE = "crm.lists.write"
COMPANIES_READ = "crm.objects.companies.read"
COMPANY_SCHEMAS_READ = "crm.schemas.companies.read"
COMPANIES_WRITE = "crm.objects.companies.write"
COMPANY_SCHEMAS_WRITE = "crm.schemas.companies.write"


@dataclass(frozen=True, slots=True)
class Feature:
    """A crmbridge feature (named as the config names it) and the scopes it calls with.

    ``core`` features run on every sync: a scope they lack is a problem to fix; the
    others are optional hand-offs, reported so the admin can add the scope or leave the
    feature off.
    """

    name: str
    scopes: tuple[str, ...]
    core: bool = False


FEATURES = (
    Feature("sync (read contacts; a task's Ref check)", (CONTACTS_READ,), core=True),
    Feature("sync (write scores; create tasks)", (CONTACTS_WRITE,), core=True),
    Feature("check (create the crmbridge properties)", (SCHEMAS_READ, SCHEMAS_WRITE), core=True),
    Feature("[assignment] owners", (OWNERS_READ,), core=True),
    Feature(
        "enroll ([[triggers]] enroll_sequence, [reactivation] sequence_id)",
        (SEQUENCES_READ, ENROLLMENTS_WRITE),
    ),
    Feature(
        "list_add ([[triggers]] add_to_list, [reactivation] archive_list_id)",
        (LISTS_READ, LISTS_WRITE),
    ),
    Feature("company rules (company.<property>)", (COMPANIES_READ, COMPANY_SCHEMAS_READ)),
    # It reads the contacts' companies too: the company rules' scopes above.
    Feature("[account_score] (written to companies)", (COMPANIES_WRITE, COMPANY_SCHEMAS_WRITE)),
)


@dataclass(frozen=True, slots=True)
class ScopeReport:
    """Missing scopes, as lines: ``problems`` stop a sync, ``limitations`` cost a feature."""

    problems: tuple[str, ...]
    limitations: tuple[str, ...]


def missing_scopes(granted: Iterable[str], app: str = "private app") -> ScopeReport:
    """One line per missing scope, naming every feature that needs it (and ``app``, the
    kind of app to add it to: a private app or an OAuth app)."""
    held = set(granted)
    problems: list[str] = []
    limitations: list[str] = []
    needed_by: dict[str, list[Feature]] = {}
    for feature in FEATURES:
        for scope in feature.scopes:
            if scope not in held:
                needed_by.setdefault(scope, []).append(feature)
    for scope, features in needed_by.items():
        names = "; ".join(f.name for f in features)
        verb = "needs" if len(features) == 1 else "need"
        line = f"{scope} is missing: {names} {verb} it"
        if any(f.core for f in features):
            problems.append(line + f" (add it to the {app} and reinstall)")
        else:
            limitations.append(line + " (add it, or leave the feature off)")
    return ScopeReport(tuple(problems), tuple(limitations))
