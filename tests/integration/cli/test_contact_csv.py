"""``score --contact`` reads CSV exports from HubSpot and Salesforce, row by row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmbridge.contact_csv import MAX_CELL, read_contacts, sniff_delimiter
from crmbridge.records import ContactRecord

from .helpers import invoke

NOW = ("--now", "2026-11-20T12:00:00Z")

HUBSPOT_EXPORT = (
    "\ufeffRecord ID,First Name,Last Name,Email,Job Title,Number of Employees,"
    "Buying Role,Lifecycle Stage,Favourite Colour\r\n"
    "101,Ana,García,Ana.Garcia@Logistica-Iberica.es,Directora de IT,600,"
    '"Decision Maker;Budget Holder",Marketing Qualified Lead,green\r\n'
    "102,Jorge,Martín,jorge@transportes-norte.es,CIO,,End User,Lead,\r\n"
)
#: The first row of HUBSPOT_EXPORT as the JSON contact the HubSpot connector would read.
ANA = {
    "crm": "hubspot",
    "id": "101",
    "email": "ana.garcia@logistica-iberica.es",
    "properties": {
        "firstname": "Ana",
        "lastname": "García",
        "email": "Ana.Garcia@Logistica-Iberica.es",
        "jobtitle": "Directora de IT",
        "numemployees": "600",
        "hs_buying_role": "DECISION_MAKER;BUDGET_HOLDER",
        "lifecyclestage": "marketingqualifiedlead",
        "Favourite Colour": "green",
    },
}


def _records(text: str) -> list[ContactRecord]:
    return [row for _, row in read_contacts(text).rows if isinstance(row, ContactRecord)]


def _score(*args: str) -> tuple[int, list[dict[str, object]] | dict[str, object], str]:
    result = invoke("score", "--json", *NOW, *args)
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_a_hubspot_label_export_scores_like_the_same_contact_in_json(tmp_path: Path) -> None:
    exported = tmp_path / "hubspot-contacts.csv"
    exported.write_text(HUBSPOT_EXPORT, "utf-8")
    as_json = tmp_path / "ana.json"
    as_json.write_text(json.dumps(ANA), "utf-8")

    code, from_csv, stderr = _score("--contact", str(exported))
    assert code == 0, stderr
    assert isinstance(from_csv, list) and len(from_csv) == 2
    code, from_json, _ = _score("--contact", str(as_json))
    assert code == 0
    assert isinstance(from_json, dict)
    assert from_csv[0] == from_json
    assert from_csv[0]["bant"] != "- - - -" and from_csv[0]["fit"] == 50
    # The label no table knows is kept, and the file says so once.
    assert "Favourite Colour" in stderr


def test_hubspot_labels_map_to_internal_names_and_values() -> None:
    found = read_contacts(HUBSPOT_EXPORT)
    assert found.crm == "hubspot"
    first, second = _records(HUBSPOT_EXPORT)
    assert first.model_dump(include={"crm", "id", "email", "properties"}) == {
        **ANA,
        "email": "ana.garcia@logistica-iberica.es",
    }
    # An empty cell is a property that is not set.
    assert "numemployees" not in second.properties
    assert second.properties["hs_buying_role"] == "END_USER"
    assert second.properties["lifecyclestage"] == "lead"


def test_an_export_with_internal_names_is_used_as_it_is() -> None:
    text = "hs_object_id,email,jobtitle,lifecyclestage\n7,a@x.es,CIO,Marketing Qualified Lead\n"
    (record,) = _records(text)
    assert record.crm == "hubspot" and record.id == "7"
    # A header that is an internal name: its values are taken as they are.
    assert record.properties == {
        "email": "a@x.es",
        "jobtitle": "CIO",
        "lifecyclestage": "Marketing Qualified Lead",
    }


def test_a_salesforce_export_with_semicolons_keeps_api_names(tmp_path: Path) -> None:
    exported = tmp_path / "leads.txt"  # no .csv: recognised by its content
    exported.write_text(
        "Id;FirstName;LastName;Email;Title;NumberOfEmployees;Budget__c\n"
        '00Q1;Marta;"Ruiz, de la Vega";marta@acme.es;CIO;1.200;"Approved; Q1"\n',
        "utf-8",
    )
    code, payload, stderr = _score("--contact", str(exported))
    assert code == 0, stderr
    assert isinstance(payload, list)
    assert payload[0]["email"] == "marta@acme.es"
    (record,) = _records(exported.read_text("utf-8"))
    assert record.crm == "salesforce" and record.id == "00Q1"
    assert record.properties["LastName"] == "Ruiz, de la Vega"
    assert record.properties["NumberOfEmployees"] == "1.200"
    assert record.properties["Budget__c"] == "Approved; Q1"


def test_salesforce_report_labels_map_to_api_names() -> None:
    text = "Lead ID,First Name,Title,No. of Employees,Email\n00Q9,Luis,CTO,250,l@x.es\n"
    (record,) = _records(text)
    assert (record.crm, record.id) == ("salesforce", "00Q9")
    assert record.properties == {
        "FirstName": "Luis",
        "Title": "CTO",
        "NumberOfEmployees": "250",
        "Email": "l@x.es",
    }


def test_bad_rows_are_errors_with_their_line_and_the_others_are_scored(tmp_path: Path) -> None:
    rows = [
        "Record ID,Email,Job Title,Notes",
        "1,one@x.es,CIO,",
        '2,two@x.es,CTO,"a note',  # a quoted cell over two lines: rows 2-3
        'that goes on"',
        "3,three@x.es,CIO,too,many,cells",  # line 5
        f"4,four@x.es,CIO,{'n' * (MAX_CELL + 1)}",  # line 6: a huge cell
        f'5,five@x.es,CIO,"{"x" * 200_000}"',  # line 7: over the csv module's own limit
        ",,,just a note",  # line 8: names no contact
        "6,not-an-email,CIO,",  # line 9: scored, the email is what the file says
        "",
        "7,seven@x.es,CEO,",  # line 11
    ]
    exported = tmp_path / "export.csv"
    exported.write_text("\n".join(rows) + "\n", "utf-8")
    result = invoke("score", "--json", *NOW, "--contact", str(exported))
    assert result.exit_code == 1  # some rows could not be read
    scored = [lead["contact_id"] for lead in json.loads(result.stdout)]
    assert scored == ["1", "2", "6", "7"]
    assert "Traceback" not in result.output
    errors = {line.split(":", 2)[1] for line in result.stderr.splitlines() if line.startswith("✘")}
    assert errors == {"5", "6", "7", "8"}, result.stderr
    assert "6 cells, but the header has 4 columns" in result.stderr
    assert f"at most {MAX_CELL:,}" in result.stderr


def test_a_windows_1252_export_is_read_and_said_so(tmp_path: Path) -> None:
    exported = tmp_path / "excel.csv"
    exported.write_bytes("Record ID;First Name;Email\n1;José;jose@x.es\n".encode("cp1252"))
    code, payload, stderr = _score("--contact", str(exported))
    assert code == 0
    assert isinstance(payload, list) and payload[0]["email"] == "jose@x.es"
    assert "read as Windows-1252" in stderr
    (record,) = _records(exported.read_bytes().decode("cp1252"))
    assert record.properties["firstname"] == "José"


def test_json_that_is_not_utf8_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"id": "1", "properties": {"firstname": "Jos\xe9"}}\n')
    result = invoke("score", "--contact", str(bad))
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("Email,Job Title\na@x.es,CIO\n", ","),
        ("Email;Job Title\na@x.es;Director, IT\n", ";"),
        ("Email\tJob Title\na@x.es\tCIO\n", "\t"),
        ("Email\na@x.es\n", ","),
    ],
)
def test_the_delimiter_is_sniffed(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_an_empty_file_or_one_without_contacts_is_said_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", "utf-8")
    result = invoke("score", "--contact", str(empty))
    assert result.exit_code == 1
    assert "empty" in result.stderr


def test_explain_reads_the_same_export(tmp_path: Path) -> None:
    exported = tmp_path / "hubspot-contacts.csv"
    exported.write_text(HUBSPOT_EXPORT, "utf-8")
    result = invoke("explain", "--json", *NOW, "--contact", str(exported), "--lead", "101")
    assert result.exit_code == 0, result.output
    (lead,) = json.loads(result.stdout)
    assert lead["lead"] == "Ana García"
    assert lead["bant_detail"]["authority"] is True
