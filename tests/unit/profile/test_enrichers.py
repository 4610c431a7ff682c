"""The companies file: CSV and JSON, column aliases, domains, and files that cannot be used."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crmbridge.errors import ConfigError
from crmbridge.handoff.enrichers import FileEnricher, build_enricher, clean_domain, register
from crmbridge.handoff.enrichment import email_domain
from crmbridge.handoff.settings import EnrichmentSettings


def write(folder: Path, name: str, body: str | bytes) -> Path:
    path = folder / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
    return path


def test_a_csv_file_is_read_with_its_aliases(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "companies.csv",
        "\ufeffDomain,Sector,Employees,Country,City\n"
        "www.Acme.ES,Logística,600,España,Madrid\n"
        "globex.com,Manufacturing,,United States,\n",
    )
    enricher = FileEnricher(path)

    assert enricher.source == "file:companies.csv"
    assert enricher.lookup("acme.es") == {
        "industry": "Logística",
        "size": "600",
        "country": "España",
        "city": "Madrid",
    }
    # Empty cells are unknown facts, not empty values.
    assert enricher.lookup("GLOBEX.com") == {
        "industry": "Manufacturing",
        "country": "United States",
    }
    assert enricher.lookup("mail.eu.acme.es") == enricher.lookup("acme.es")
    assert enricher.lookup("acme.com") is None
    assert enricher.lookup("es") is None


def test_semicolon_csv_from_a_spreadsheet(tmp_path: Path) -> None:
    path = write(
        tmp_path, "empresas.csv", "domain;industry;size;country\nacme.es;Retail;50;Spain\n"
    )
    assert FileEnricher(path).lookup("acme.es") == {
        "industry": "Retail",
        "size": "50",
        "country": "Spain",
    }


def test_json_as_a_list_or_keyed_by_domain(tmp_path: Path) -> None:
    listed = write(
        tmp_path,
        "list.json",
        json.dumps([{"domain": "acme.es", "industry": "Retail", "size": 600, "tags": ["x"]}]),
    )
    keyed = write(
        tmp_path, "keyed.json", json.dumps({"acme.es": {"sector": "Retail", "size": 600}})
    )

    assert FileEnricher(listed).lookup("acme.es") == {"industry": "Retail", "size": "600"}
    assert FileEnricher(keyed).lookup("acme.es") == {"industry": "Retail", "size": "600"}


def test_the_first_row_of_a_domain_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "domain,industry\nacme.es,Retail\nACME.es,Stale\n")
    assert FileEnricher(path).lookup("acme.es") == {"industry": "Retail"}


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("missing.csv", None, "cannot be read"),
        ("latin1.csv", b"domain,industry\nacme.es,Log\xedstica\n", "is not UTF-8 text"),
        ("nodomain.csv", "name,industry\nAcme,Retail\n", "has no 'domain' column"),
        ("ragged.csv", "domain,industry\nacme.es,Retail,extra,more\n", "line 2 has more values"),
        ("blank.csv", "domain,industry\n,Retail\n", "line 2 has no domain"),
        ("broken.json", '[{"domain": "acme.es",', "invalid JSON"),
        ("scalar.json", "42", "must hold a list of companies"),
        ("items.json", '["acme.es"]', "item 1 is not an object"),
        ("nodomain.json", '[{"industry": "Retail"}]', "item 1 has no domain"),
    ],
)
def test_a_bad_file_is_a_config_error_naming_the_file(
    tmp_path: Path, name: str, body: str | bytes | None, message: str
) -> None:
    path = tmp_path / name if body is None else write(tmp_path, name, body)

    with pytest.raises(ConfigError) as caught:
        FileEnricher(path)

    text = str(caught.value)
    assert "enrichment.path" in text
    assert str(path) in text
    assert message in text


def test_the_provider_reads_the_file_once_and_again_when_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "domain,industry\nacme.es,Retail\n")
    settings = EnrichmentSettings(enabled=True, path=str(path))

    first = build_enricher(settings)
    assert build_enricher(settings) is first

    path.write_text("domain,industry\nacme.es,Logistics\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = build_enricher(settings)
    assert changed is not first
    assert changed.lookup("acme.es") == {"industry": "Logistics"}


def test_providers_are_chosen_by_name(tmp_path: Path) -> None:
    class Static:
        source = "static"

        def lookup(self, domain: str) -> dict[str, str] | None:
            return {"industry": "Retail"} if domain == "acme.es" else None

    register("static-test", lambda _settings: Static())
    assert build_enricher(EnrichmentSettings(provider="static-test")).source == "static"

    with pytest.raises(ConfigError, match='unknown provider "nope"'):
        build_enricher(EnrichmentSettings(provider="nope"))
    with pytest.raises(ConfigError, match="needs a path"):
        build_enricher(EnrichmentSettings(enabled=True))


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("ana@Acme.ES", "acme.es"),
        ("ana@mail.acme.es", "mail.acme.es"),
        ("ana@gmail.com", None),
        ("ANA@HOTMAIL.COM", None),
        ("ana@yahoo.es", None),
        ("ana@outlook.com", None),
        ("no-at-sign", None),
        ("ana@localhost", None),
        (None, None),
    ],
)
def test_the_company_domain_of_an_email(email: str | None, domain: str | None) -> None:
    assert email_domain(email) == domain


def test_clean_domain_strips_what_people_paste() -> None:
    assert clean_domain(" https://www.Acme.es/about ") == "acme.es"
    assert clean_domain("@acme.es.") == "acme.es"
