"""``crmbridge check``: warnings about rules on properties the CRM does not have.

A rule on a misspelt property (``jobtitel`` for ``jobtitle``) never matches and says
nothing; once a CRM answers, its property list shows the mistake with a likely fix.
"""

from __future__ import annotations

from crmbridge.config import CrmbridgeConfig, trigger_conditions
from crmbridge.connector import CompanyReader
from crmbridge.errors import CrmbridgeError
from crmbridge.scoring.model import suggest
from crmbridge.scoring.properties import company_properties, read_properties

# A CRM has hundreds of property names: at difflib's default cutoff almost any word
# finds a far-off "match" ("budget" → "crmbridge_hot", ratio 0.53), which misleads more
# than it helps. Real misspellings ("jobtitel", "numemployees") score above 0.8.
_CLOSE_ENOUGH = 0.75


def missing_property_warnings(config: CrmbridgeConfig, crm_properties: frozenset[str]) -> list[str]:
    """One line per model rule on a contact property missing from ``crm_properties``.

    Properties crmbridge writes itself (its ``<prefix>_*`` fields, the triggers'
    ``set_property``) are never missing: check creates the former and a trigger may set
    the latter before any rule reads it.
    """
    prefix = f"{config.writeback.prefix}_"
    written = {name for trigger in config.triggers for name in trigger.then.set_property or {}}
    triggers = trigger_conditions(config)
    known = sorted(crm_properties)
    lines = []
    for path, name in read_properties(config.scoring, config.bant, config.lifecycle, triggers):
        if name in crm_properties or name in written or name.startswith(prefix):
            continue
        best = suggest(name, known, cutoff=_CLOSE_ENOUGH)
        hint = f': did you mean "{best}"?' if best else ""
        lines.append(f'{path}: the CRM has no contact property "{name}"{hint}')
    return lines


def company_property_warnings(
    config: CrmbridgeConfig, companies: CompanyReader | None
) -> list[str]:
    """One line per ``company.`` rule the CRM cannot serve: a connector that reads no
    companies, or a company property the CRM lacks. A CRM that cannot answer is said
    once (and raises nothing: ``check`` goes on)."""
    paths = company_properties(
        config.scoring, config.bant, config.lifecycle, trigger_conditions(config)
    )
    if not paths:
        return []
    if companies is None:
        first = paths[0][0]
        return [f"{first}: this CRM's connector reads no companies: company. rules never match"]
    try:
        names = companies.property_names()
    except CrmbridgeError as exc:
        return [f"cannot list company properties: {exc}"]
    if names is None:
        return []
    known = sorted(names)
    lines = []
    for path, name in paths:
        if name in names:
            continue
        best = suggest(name, known)
        hint = f': did you mean "company.{best}"?' if best else ""
        lines.append(f'{path}: the CRM has no company property "{name}"{hint}')
    return lines
