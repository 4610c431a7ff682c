"""Which CRMs' records of one person are one lead, and noticing when that, or the
owner of a written property, changed since the store last ran.

Linking (``[bridge] link_across_crms``) and field ownership (``[writeback] owner`` and
``owners``) change what every lead of several CRMs is scored from and where its values
go, without changing the scoring model. Like a model edit, such a change must reach
every lead: the store remembers the settings it last applied, and the first rescoring
after a change flags every contact.
"""

from __future__ import annotations

import json

from crmbridge.config import CrmbridgeConfig
from crmbridge.settings import BOTH
from crmbridge.store.repository import Store
from crmbridge.sync.handoff_switches import SWITCHES

#: The cursor (of the hand-off switches' pseudo-connector) holding the settings applied.
CROSS_CRM = "cross_crm"
#: What a store that never recorded them applied: records scored alone, written to both.
_BEFORE = json.dumps({"linked": [], "owner": BOTH, "owners": {}}, sort_keys=True)


def linked_crms(config: CrmbridgeConfig) -> frozenset[str]:
    """The CRMs whose records of one person are one lead (none when linking is off or
    a single CRM is enabled)."""
    enabled = frozenset(config.connectors.enabled())
    return enabled if config.bridge.link_across_crms and len(enabled) > 1 else frozenset()


def _applied(config: CrmbridgeConfig) -> str:
    writeback = config.writeback
    return json.dumps(
        {
            "linked": sorted(linked_crms(config)),
            "owner": writeback.owner,
            "owners": dict(sorted(writeback.owners.items())),
        },
        sort_keys=True,
    )


def changed(store: Store, config: CrmbridgeConfig) -> bool:
    """Do linking or ownership differ from what the store last applied?"""
    return (store.get_cursor(SWITCHES, CROSS_CRM) or _BEFORE) != _applied(config)


def record(store: Store, config: CrmbridgeConfig) -> None:
    """Remember the linking and ownership now applied."""
    store.put_cursor(SWITCHES, CROSS_CRM, _applied(config))
