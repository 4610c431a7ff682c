"""Enrichers: company facts (industry, size, country, ...) from an email's domain.

An :class:`Enricher` answers one question: what is known about the company behind a
domain? Providers are registered by name (``[enrichment] provider``); the built-in
``file`` provider reads a CSV or JSON file of companies, once, and answers offline.

The file, by columns (CSV) or keys (JSON)::

    domain,industry,size,country
    acme.es,Logistics,600,Spain

``sector`` is read as ``industry`` and ``employees`` / ``numemployees`` as ``size``;
any other column is kept under its own (lower-case) name, for ``[enrichment.fields]``
to map. JSON is a list of such objects, or an object of objects keyed by domain.
A file that cannot be used raises :class:`~crmbridge.errors.ConfigError` naming the
file and the row.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.handoff.settings import EnrichmentSettings

SETTING = "enrichment.path"
#: Column names read as the canonical fact names.
ALIASES = {
    "sector": "industry",
    "employees": "size",
    "numemployees": "size",
    "company_size": "size",
    "country_code": "country",
}

Facts = Mapping[str, str]


class Enricher(Protocol):
    """Looks companies up by domain."""

    #: Where the facts come from, as written to the lead (``file:companies.csv``).
    source: str

    def lookup(self, domain: str) -> Facts | None:
        """The facts about the company at ``domain`` (``acme.es``), or None if unknown."""
        ...


def clean_domain(value: str) -> str:
    """``Acme.ES``, ``www.acme.es``, ``@acme.es`` and ``https://acme.es/`` → ``acme.es``."""
    domain = value.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/", 1)[0].lstrip("@").rstrip(".")
    return domain.removeprefix("www.")


def _bad_file(path: Path, message: str) -> ConfigError:
    return ConfigError(
        [ConfigProblem(SETTING, f"{path}: {message}", "fix the file or turn enrichment off")]
    )


class FileEnricher:
    """Companies from a CSV or JSON file, read once when built."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = f"file:{self.path.name}"
        self.companies: dict[str, dict[str, str]] = _load(self.path)

    def lookup(self, domain: str) -> Facts | None:
        """Exact domain first, then its parents (``mail.acme.es`` → ``acme.es``)."""
        parts = clean_domain(domain).split(".")
        for start in range(max(len(parts) - 1, 1)):
            found = self.companies.get(".".join(parts[start:]))
            if found is not None:
                return found
        return None


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _bad_file(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_file(path, "is not UTF-8 text") from None
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{"):
        rows = _json_rows(path, text)
    else:
        rows = _csv_rows(path, text)
    companies: dict[str, dict[str, str]] = {}
    for where, row in rows:
        facts = _facts(row)
        domain = clean_domain(facts.pop("domain", ""))
        if not domain:
            raise _bad_file(path, f"{where} has no domain")
        # The first row of a domain wins: a later duplicate is most likely a stale copy.
        companies.setdefault(domain, facts)
    return companies


def _facts(row: Mapping[str, Any]) -> dict[str, str]:
    """A row as canonical fact names → non-empty text values."""
    facts: dict[str, str] = {}
    for key, value in row.items():
        if key is None or value is None or isinstance(value, dict | list):
            continue
        name = str(key).strip().lower()
        text = str(value).strip()
        if name and text:
            facts.setdefault(ALIASES.get(name, name), text)
    return facts


def _csv_rows(path: Path, text: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [str(name).strip().lower() for name in reader.fieldnames or []]
    if "domain" not in header:
        raise _bad_file(path, "has no 'domain' column (first line: domain,industry,size,country)")
    rows = []
    try:
        for row in reader:
            if None in row:
                raise _bad_file(path, f"line {reader.line_num} has more values than columns")
            rows.append((f"line {reader.line_num}", {k.strip().lower(): v for k, v in row.items()}))
    except csv.Error as exc:
        raise _bad_file(path, f"line {reader.line_num}: {exc}") from None
    return rows


def _json_rows(path: Path, text: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_file(path, f"invalid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise _bad_file(path, "invalid JSON: nested too deeply") from None
    if isinstance(data, dict):
        items = [
            (f'key "{key}"', {**_object(path, f'key "{key}"', value), "domain": key})
            for key, value in data.items()
        ]
    elif isinstance(data, list):
        items = [
            (f"item {n}", _object(path, f"item {n}", value))
            for n, value in enumerate(data, start=1)
        ]
    else:
        raise _bad_file(path, "must hold a list of companies or an object keyed by domain")
    return items


def _object(path: Path, where: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad_file(path, f"{where} is not an object")
    return {str(k): v for k, v in value.items()}


# -- the registry ------------------------------------------------------------------------

Factory = Callable[[EnrichmentSettings], Enricher]
_PROVIDERS: dict[str, Factory] = {}
_FILES: dict[Path, tuple[tuple[int, int], FileEnricher]] = {}
_FILES_LOCK = threading.Lock()


def register(name: str, factory: Factory) -> None:
    """Make a provider available as ``[enrichment] provider = "<name>"``."""
    _PROVIDERS[name] = factory


def build_enricher(settings: EnrichmentSettings) -> Enricher:
    """The configured provider; ConfigError when it is unknown or cannot start."""
    factory = _PROVIDERS.get(settings.provider)
    if factory is None:
        raise ConfigError(
            [
                ConfigProblem(
                    "enrichment.provider",
                    f'unknown provider "{settings.provider}"',
                    f"use one of {', '.join(sorted(_PROVIDERS))}",
                )
            ]
        )
    return factory(settings)


def _file_provider(settings: EnrichmentSettings) -> Enricher:
    """The file provider, read again only when the file changed (planners are per cycle)."""
    if not settings.path:
        raise ConfigError(
            [ConfigProblem(SETTING, "the file provider needs a path", 'path = "companies.csv"')]
        )
    path = Path(settings.path).expanduser().resolve()
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = (-1, -1)
    with _FILES_LOCK:
        cached = _FILES.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        enricher = FileEnricher(path)
        _FILES[path] = (version, enricher)
        return enricher


register("file", _file_provider)
