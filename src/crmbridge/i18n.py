"""The language people read: messages from gettext catalogs, dates and numbers by Babel.

Every text crmbridge shows or writes to the CRM (the report, score reasons, task
subjects and bodies) goes through one catalog domain, selected by ``[bridge] language``.
English is the source language (no catalog). Each other language has its ``.po`` file
under ``locale/<lang>/LC_MESSAGES/crmbridge.po`` in this package; it is compiled in
memory the first time it is needed, so a source checkout (``pip install -e .``) and a
wheel both work without a build step.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

#: Languages crmbridge writes in (``[bridge] language``).
LANGUAGES = ("en", "es")
DOMAIN = "crmbridge"


def catalog_path(language: str) -> resources.abc.Traversable:
    """Where the ``.po`` source of ``language`` is shipped."""
    return resources.files("crmbridge") / "locale" / language / "LC_MESSAGES" / (DOMAIN + ".po")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` (English: the messages as written)."""
    if language == "en":
        return gettext.NullTranslations()
    source = catalog_path(language)
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Texts:
    """Translate and format for one language and time zone."""

    language: str
    zone: ZoneInfo
    _catalog: gettext.NullTranslations = field(init=False, repr=False, compare=False)
    _locale: Locale = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_catalog", translations(self.language))
        object.__setattr__(self, "_locale", Locale.parse(self.language))

    def __call__(self, message: str, **values: object) -> str:
        """``message`` in this language, with ``{name}`` fields filled."""
        text = self._catalog.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, count: int, **values: object) -> str:
        """``singular`` or ``plural`` as ``count`` asks in this language, fields filled
        (``{count}`` among them)."""
        return self._catalog.ngettext(singular, plural, count).format(count=count, **values)

    def date(self, day: date) -> str:
        """A day, e.g. "Nov 16, 2026" / "16 nov 2026"."""
        return str(format_date(day, "medium", locale=self._locale))

    def moment(self, when: datetime) -> str:
        """An instant in the business time zone."""
        return str(format_datetime(when, "medium", tzinfo=self.zone, locale=self._locale))

    def number(self, value: float) -> str:
        """A count or a figure, with the locale's separators."""
        return str(format_decimal(value, "#,##0.##", locale=self._locale))

    def percent(self, value: float | None) -> str:
        """A share as a whole percentage, written the locale's way ("40%", "40 %");
        "—" when unknown."""
        if value is None:
            return "—"
        return str(format_percent(value, locale=self._locale))

    def hours(self, value: timedelta | None) -> str:
        """A business duration in hours, e.g. "3.5 h"; "—" when unknown."""
        if value is None:
            return "—"
        return self(N_("{hours} h"), hours=self.number(round(value.total_seconds() / 3600, 1)))


#: The source language in UTC: what a text is written in when nothing says otherwise.
ENGLISH = Texts("en", ZoneInfo("UTC"))
