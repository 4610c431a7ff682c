"""The language of the command line: ``[bridge] language`` and ``timezone`` once a command
has loaded its configuration, English in UTC before that.

A command prints through :func:`t` (and formats dates, numbers and durations through
:func:`active`), so every message goes through the Babel catalog. ``--help`` stays
English: typer builds it before any configuration is read. Machine output (``--json``
keys and values, CSV column ids) never goes through here.
"""

from __future__ import annotations

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.business_hours import zone_or_utc
from crmbridge.i18n import ENGLISH, Texts

_active: list[Texts] = [ENGLISH]


def use(config: CrmbridgeConfig) -> Texts:
    """Speak ``config``'s language from now on (this process); returns its :class:`Texts`."""
    _active[0] = Texts(config.bridge.language, zone_or_utc(config.bridge.timezone))
    return _active[0]


def reset() -> None:
    """Back to English in UTC: each invocation starts there, before its configuration."""
    _active[0] = ENGLISH


def active() -> Texts:
    """The command line's current language and time zone."""
    return _active[0]


def t(message: str, **values: object) -> str:
    """``message`` in the command line's language, ``{name}`` fields filled."""
    return _active[0](message, **values)


def plural(singular: str, plural_form: str, count: int, **values: object) -> str:
    """``singular`` or ``plural_form`` as ``count`` asks, in the command line's language."""
    return _active[0].plural(singular, plural_form, count, **values)


def number(value: float) -> str:
    """A count with the locale's separators ("1,234" / "1234", "12.345")."""
    return _active[0].number(value)
