"""Finding the installed connector plugins (the ``crmbridge.connectors`` entry points).

A CRM package registers itself with one line in its ``pyproject.toml``::

    [project.entry-points."crmbridge.connectors"]
    hubspot = "crmbridge_hubspot:plugin"

The name on the left is the ``[connectors.<name>]`` table; the object on the right is a
:class:`~crmbridge.connector.plugin.ConnectorPlugin` of the same name. crmbridge never
imports a plugin by its module name: everything it knows of a CRM comes from here.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from crmbridge.connector.plugin import ConnectorPlugin
from crmbridge.logging import get_logger

ENTRY_POINT_GROUP = "crmbridge.connectors"

log = get_logger(component="connectors")


class PluginError(Exception):
    """An entry point of the group that does not load as a valid plugin."""


@cache
def plugins() -> dict[str, ConnectorPlugin]:
    """Every installed plugin by name, loaded once per process, sorted by name.

    A plugin that fails to import or is not a :class:`ConnectorPlugin` named like its
    entry point is left out with an error log line naming it, so one broken package
    cannot stop crmbridge (its ``[connectors.<name>]`` table is then unknown).
    """
    found: dict[str, ConnectorPlugin] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in found:
            continue  # the first distribution on the path wins, as for imports
        try:
            plugin = point.load()
            if not isinstance(plugin, ConnectorPlugin) or plugin.name != point.name:
                raise PluginError(f"{point.value} is not a ConnectorPlugin named {point.name!r}")
        except Exception as exc:  # any import-time failure of third-party code
            log.error(
                "connector.plugin_unavailable",
                plugin=point.name,
                target=point.value,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            continue
        found[point.name] = plugin
    return found


def plugin(name: str) -> ConnectorPlugin:
    """The installed plugin called ``name`` (``KeyError`` when there is none)."""
    return plugins()[name]
