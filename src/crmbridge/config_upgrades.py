"""Settings and operators renamed between releases.

A file written for an earlier release keeps working where a migration applies: a value
under a renamed key is read under its new name, and ``crmbridge config check`` (and every
command, as a warning) says which key to rename. A renamed operator cannot be moved for
you safely inside rules, so it is an error whose hint names the new operator. Each
rename is also listed in docs/configuration.md, "Upgrade notes".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crmbridge.errors import ConfigProblem

UPGRADE_NOTES = "docs/configuration.md#upgrade-notes"


@dataclass(frozen=True)
class Renamed:
    """A TOML key (dotted path, tables only) that a release renamed."""

    old: str
    new: str
    release: str


#: Every renamed key, oldest first.
RENAMED_KEYS: tuple[Renamed, ...] = (
    # Salesforce webhooks belong to the Salesforce connector's table.
    Renamed("daemon.salesforce_webhook_secret", "connectors.salesforce.webhook_secret", "0.1.0"),
    Renamed("daemon.salesforce_org_id", "connectors.salesforce.org_id", "0.1.0"),
)
#: Renamed operators: old name → (new name, release). ``contains`` / ``contains_any``
#: are not here: they kept their names and now match substrings (the whole-word forms
#: are new operators), so a model still loads; ``config check`` warns about the needles
#: likely to match more than before (crmbridge.scoring.overmatch) and the upgrade notes
#: say how to keep whole words.
RENAMED_OPERATORS: Mapping[str, tuple[str, str]] = {}


def renamed_operator(word: str) -> str | None:
    """The hint for an operator a release renamed, or None."""
    found = RENAMED_OPERATORS.get(word.lower())
    if found is None:
        return None
    new, release = found
    return f'renamed to "{new}" in {release}; see {UPGRADE_NOTES}'


def apply_renames(raw: dict[str, Any]) -> tuple[list[str], list[ConfigProblem]]:
    """Move values from renamed keys to their new names, in place.

    Returns a note per key moved, and a problem per key set under both names.
    """
    notes: list[str] = []
    problems: list[ConfigProblem] = []
    for rename in RENAMED_KEYS:
        old_parent, old_key = _parent(raw, rename.old, create=False)
        if old_parent is None or old_key not in old_parent:
            continue
        new_parent, new_key = _parent(raw, rename.new, create=True)
        if new_parent is None:
            continue  # the new name's table is not a table here: validation reports it
        if new_key in new_parent:
            problems.append(
                ConfigProblem(
                    rename.old,
                    f'renamed to "{rename.new}" in {rename.release}, which is set too',
                    f"remove {rename.old}",
                )
            )
            continue
        new_parent[new_key] = old_parent.pop(old_key)
        notes.append(
            f"{rename.old}: renamed to {rename.new} in {rename.release}; read as "
            f"{rename.new} — rename it in the file (see {UPGRADE_NOTES})"
        )
    return notes, problems


def _parent(raw: dict[str, Any], dotted: str, *, create: bool) -> tuple[dict[str, Any] | None, str]:
    *tables, key = dotted.split(".")
    node: Any = raw
    for table in tables:
        if not isinstance(node, dict):
            return None, key
        if table not in node and create:
            node[table] = {}
        node = node.get(table)
    return (node if isinstance(node, dict) else None), key
