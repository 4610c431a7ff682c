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

from crmbridge.connector.plugin import CONNECTOR_NAME, ConnectorPlugin, valid_name
from crmbridge.logging import get_logger

ENTRY_POINT_GROUP = "crmbridge.connectors"

log = get_logger(component="connectors")


class PluginError(Exception):
    """An entry point of the group that does not load as a valid plugin."""


@cache
def _scan() -> tuple[dict[str, ConnectorPlugin], dict[str, str]]:
    """The plugins that loaded and, by name, why the others did not."""
    found: dict[str, ConnectorPlugin] = {}
    failed: dict[str, str] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in found:
            continue  # the first distribution on the path wins, as for imports
        try:
            if not valid_name(point.name):
                raise PluginError(
                    f"{point.name!r} is not a connector name ({CONNECTOR_NAME.pattern}: "
                    "a lowercase letter, then letters, digits or _, 32 at most)"
                )
            plugin = point.load()
            if not isinstance(plugin, ConnectorPlugin) or plugin.name != point.name:
                raise PluginError(f"{point.value} is not a ConnectorPlugin named {point.name!r}")
        except Exception as exc:  # any import-time failure of third-party code
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.error(
                "connector.plugin_unavailable", plugin=point.name, target=point.value, error=error
            )
            failed[point.name] = error
            continue
        found[point.name] = plugin
        failed.pop(point.name, None)  # a later distribution of that name did load
    return found, failed


def plugins() -> dict[str, ConnectorPlugin]:
    """Every installed plugin by name, loaded once per process, sorted by name.

    A plugin that fails to import, is not a :class:`ConnectorPlugin` named like its
    entry point, or has a name no connector may have is left out with an error log
    line naming it, so one broken package cannot stop crmbridge; its
    ``[connectors.<name>]`` table is then refused with the reason (see
    :func:`failures`).
    """
    return _scan()[0]


def failures() -> dict[str, str]:
    """The plugins that did not load, by name: what went wrong (type and message)."""
    return _scan()[1]


def plugin(name: str) -> ConnectorPlugin:
    """The installed plugin called ``name`` (``KeyError`` when there is none)."""
    return plugins()[name]


def rescan() -> None:
    """Forget what was found, so the next call looks at the entry points again.

    For tests that install or break a plugin in-process; the configuration model keeps
    the tables of the plugins found when :mod:`crmbridge.config` was imported.
    """
    _scan.cache_clear()
