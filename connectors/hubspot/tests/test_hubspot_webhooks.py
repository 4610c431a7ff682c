"""POST /webhooks/hubspot: v3 signatures, freshness, replays, batch size, what is recorded."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import structlog
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select

from crmbridge.connector import Gone, WebhookError, WebhookRequest
from crmbridge.daemon.http import create_app
from crmbridge.store.erasure import find_person, forget
from crmbridge.store.identity import bind_account
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, EventRow
from crmbridge_hubspot.activity import activity_events
from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.webhooks import WebhookDispatcher, sign_v3
from crmbridge_hubspot.settings import HubSpotSettings
from crmbridge_hubspot.webhooks import HubSpotWebhooks
from tests.integration.daemon.app_harness import (
    APP_SECRET,
    HUBSPOT_URL,
    NOW,
    NOW_MS,
    Harness,
    count,
    dirty_ids,
    dumps,
    events,
    hubspot_headers,
    make_config,
    notification,
    receipts,
    seed_contacts,
)

#: The HubSpot account of :func:`notification`'s ``portalId``.
PORTAL = "4200017"


def post(harness: Harness, body: bytes, headers: dict[str, Any], url: str = HUBSPOT_URL) -> Any:
    return harness.client.post(url, content=body, headers=headers)


def bind_portal(store: Store, portal: str = PORTAL) -> None:
    """What the daemon's start does: bind the connector to the account it reaches."""
    bind_account(store.engine, "hubspot", portal, f"HubSpot account {portal}")


def deliver(harness: Harness, items: list[dict[str, Any]]) -> Any:
    body = dumps(items)
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 200, response.text
    return response.json()


def contact_ids(store: Store) -> set[tuple[str, str]]:
    with store.engine.connect() as connection:
        return {
            (r.crm, r.crm_id) for r in connection.execute(select(ContactRow.crm, ContactRow.crm_id))
        }


def event_keys(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.execute(select(EventRow.dedupe_key)).scalars())


def add_events(store: Store, refs: dict[str, dict[str, Any]]) -> None:
    """Events by key: linked to a contact row, or naming an email or a record id."""
    with store.session() as session:
        for key, ref in refs.items():
            session.add(
                EventRow(
                    dedupe_key=key,
                    type="page_view",
                    occurred_at=NOW - timedelta(hours=1),
                    properties={"url": "https://acme.example/pricing"},
                    **ref,
                )
            )
        session.commit()


def contact_row(store: Store, crm: str, crm_id: str) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(
                select(ContactRow.id).where(ContactRow.crm == crm, ContactRow.crm_id == crm_id)
            ).scalar_one()
        )


def test_valid_signature_is_accepted_and_the_contact_marked(harness: Harness) -> None:
    seed_contacts(harness.store, "hubspot", ["101", "102"])
    body = dumps([notification(1, 101), notification(2, 555, kind="contact.creation")])

    response = post(harness, body, hubspot_headers(body))

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    assert receipts(harness.store) == 2
    assert dirty_ids(harness.store, "hubspot") == {"101"}
    # Both are named; the unknown contact is read by the poll the nudge starts.
    assert response.json()["records"] == 2
    assert harness.nudges  # the scheduler was told


def test_the_sandbox_signature_function_is_accepted(harness: Harness) -> None:
    body = dumps([notification(7, 101)])
    stamp = str(NOW_MS)
    headers = {
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": sign_v3(APP_SECRET, "POST", HUBSPOT_URL, body, stamp),
    }
    assert post(harness, body, headers).status_code == 200


def test_the_listed_url_escapes_are_decoded_before_verifying(harness: Harness) -> None:
    """HubSpot signs ``?next=a:b/c`` for a request to ``?next=a%3Ab%2Fc``."""
    sent = HUBSPOT_URL + "?portal=42&next=a%3Ab%2Fc%40d"
    signed = HUBSPOT_URL + "?portal=42&next=a:b/c@d"
    body = dumps([notification(8, 101)])
    response = post(harness, body, hubspot_headers(body, uri=signed), url=sent)
    assert response.status_code == 200, response.text


def test_the_public_url_is_what_hubspot_signed_behind_a_proxy(
    build: Callable[..., Harness],
) -> None:
    harness = build(make_config(public_url="https://crm.acme.es/"))
    body = dumps([notification(9, 101)])
    public = "https://crm.acme.es/webhooks/hubspot"
    assert post(harness, body, hubspot_headers(body, uri=public)).status_code == 200
    other = "https://elsewhere.example/webhooks/hubspot"
    assert post(harness, body, hubspot_headers(body, uri=other)).status_code == 401


SIGNATURE = "X-HubSpot-Signature-v3"
STAMP = "X-HubSpot-Request-Timestamp"


def _tampered(headers: dict[str, str], how: str) -> dict[str, Any]:
    if how == "wrong":
        return headers | {SIGNATURE: "AAAA" + headers[SIGNATURE][4:]}
    if how == "missing":
        return {k: v for k, v in headers.items() if k != SIGNATURE}
    if how == "no-timestamp":
        return {k: v for k, v in headers.items() if k != STAMP}
    if how == "bad-timestamp":
        return headers | {STAMP: "soon"}
    if how == "non-ascii":
        return headers | {SIGNATURE: "s\u00efgn\u00e9d".encode("latin-1")}
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["wrong", "missing", "no-timestamp", "bad-timestamp", "non-ascii"])
def test_a_bad_signature_is_refused_and_nothing_stored(harness: Harness, how: str) -> None:
    seed_contacts(harness.store, "hubspot", ["101"])
    body = dumps([notification(1, 101)])
    response = post(harness, body, _tampered(hubspot_headers(body), how))
    assert response.status_code == 401
    assert receipts(harness.store) == 0
    assert dirty_ids(harness.store, "hubspot") == set()
    assert not harness.nudges


def test_a_body_changed_after_signing_is_refused(harness: Harness) -> None:
    body = dumps([notification(1, 101)])
    forged = dumps([notification(1, 999)])
    assert post(harness, forged, hubspot_headers(body)).status_code == 401
    assert receipts(harness.store) == 0


def test_a_signature_with_another_secret_is_refused(harness: Harness) -> None:
    body = dumps([notification(1, 101)])
    assert post(harness, body, hubspot_headers(body, secret="not-the-secret")).status_code == 401


@pytest.mark.parametrize("offset", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=6)])
def test_stale_or_far_future_timestamps_are_refused(harness: Harness, offset: timedelta) -> None:
    body = dumps([notification(1, 101)])
    stamp = NOW_MS + int(offset.total_seconds() * 1000)
    response = post(harness, body, hubspot_headers(body, timestamp_ms=stamp))
    assert response.status_code == 401
    assert "minutes" in response.json()["detail"]
    assert receipts(harness.store) == 0


def test_a_timestamp_within_five_minutes_is_accepted(harness: Harness) -> None:
    body = dumps([notification(1, 101)])
    stamp = NOW_MS - 4 * 60 * 1000
    assert post(harness, body, hubspot_headers(body, timestamp_ms=stamp)).status_code == 200


def _reply_and_change(attempt: int) -> list[dict[str, Any]]:
    replied = notification(2, 101, prop="hs_sales_email_last_replied", value=str(NOW_MS - 5000))
    return [dict(item, attemptNumber=attempt) for item in (notification(1, 101), replied)]


def test_a_replayed_delivery_answers_200_and_stores_nothing_new(harness: Harness) -> None:
    store = harness.store
    seed_contacts(store, "hubspot", ["101"])
    body = dumps(_reply_and_change(0))
    assert post(harness, body, hubspot_headers(body)).status_code == 200
    stored = (receipts(store), events(store))
    # The poller has read and rescored the contact since.
    seed_contacts(store, "hubspot", ["101"])
    harness.nudges.clear()

    # HubSpot retries the same notifications (attemptNumber 1, fresh timestamp).
    again = dumps(_reply_and_change(1))
    harness.clock[0] = NOW + timedelta(seconds=30)
    response = post(harness, again, hubspot_headers(again, timestamp_ms=NOW_MS + 30_000))

    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert response.json()["replayed"] == 2
    assert response.json()["records"] == 0
    assert (receipts(store), events(store)) == stored
    assert dirty_ids(store, "hubspot") == set()
    assert not harness.nudges
    scraped = harness.client.get("/metrics").text
    assert 'crmbridge_webhook_events_total{connector="hubspot",outcome="replayed"} 2.0' in scraped


def test_a_duplicate_inside_one_delivery_counts_once(harness: Harness) -> None:
    body = dumps([notification(1, 101), notification(1, 101)])
    response = post(harness, body, hubspot_headers(body))
    assert response.json()["accepted"] == 1
    assert receipts(harness.store) == 1


def test_a_batch_of_100_is_accepted(harness: Harness) -> None:
    seed_contacts(harness.store, "hubspot", [str(1000 + i) for i in range(100)])
    body = dumps([notification(i, 1000 + i) for i in range(100)])
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 200
    assert response.json()["accepted"] == 100
    assert receipts(harness.store) == 100
    assert len(dirty_ids(harness.store, "hubspot")) == 100


def test_101_notifications_are_refused_with_400_and_nothing_stored(harness: Harness) -> None:
    body = dumps([notification(i, 1000 + i) for i in range(101)])
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 400
    assert "100" in response.json()["detail"]
    assert receipts(harness.store) == 0


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"eventId": 1}', b"[1, 2]", b"[" * 100_000],
    ids=["text", "object", "scalars", "deep"],
)
def test_a_signed_but_malformed_payload_is_400(harness: Harness, body: bytes) -> None:
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 400
    assert receipts(harness.store) == 0


def test_a_sales_email_reply_becomes_the_pollers_email_reply_event(harness: Harness) -> None:
    seed_contacts(harness.store, "hubspot", ["101"])
    replied_ms = str(NOW_MS - 60_000)
    body = dumps([notification(3, 101, prop="hs_sales_email_last_replied", value=replied_ms)])

    response = post(harness, body, hubspot_headers(body))

    assert response.status_code == 200
    assert response.json()["events_stored"] == 1
    with harness.store.engine.connect() as connection:
        row = connection.execute(select(EventRow.__table__)).one()  # type: ignore[attr-defined]
    derived = activity_events("101", {"hs_sales_email_last_replied": replied_ms}, None)
    (expected,) = [e for e in derived if e.type == "email_reply"]
    assert row.dedupe_key == expected.event_id == f"hubspot:101:email_reply:{replied_ms}"
    assert row.type == "email_reply"
    assert row.contact_id is not None  # linked to the known contact
    assert dirty_ids(harness.store, "hubspot") == {"101"}


def test_a_deletion_forgets_the_contact_and_other_objects_only_get_a_receipt(
    harness: Harness,
) -> None:
    bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101", "102"])
    body = dumps(
        [
            notification(1, 101, kind="contact.deletion"),
            notification(2, 77, kind="company.propertyChange") | {"propertyName": "name"},
        ]
    )
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 200
    assert receipts(harness.store) == 2
    assert dirty_ids(harness.store, "hubspot") == set()
    assert count(harness.store, ContactRow) == 1  # 101 is forgotten, 102 stays
    assert response.json()["records"] == 0


def test_deletions_of_one_delivery_are_all_forgotten_and_a_replay_changes_nothing(
    harness: Harness,
) -> None:
    bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101", "102", "103"])
    body = dumps(
        [
            notification(1, 101, kind="contact.deletion"),
            notification(2, 102, kind="contact.privacyDeletion"),
        ]
    )
    assert post(harness, body, hubspot_headers(body)).status_code == 200
    seed_contacts(harness.store, "hubspot", ["101"])  # read again meanwhile (restored)
    assert post(harness, body, hubspot_headers(body)).json()["replayed"] == 2
    assert count(harness.store, ContactRow) == 2  # 103, and 101 as read again


def test_a_merge_marks_the_surviving_contact(harness: Harness) -> None:
    bind_portal(harness.store)
    item = notification(4, 101, kind="contact.merge") | {
        "primaryObjectId": 101,
        "mergedObjectIds": [102],
        "newObjectId": 101,
    }
    body = dumps([item])
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 200
    assert response.json()["records"] == 1  # 101, the survivor


def test_without_an_app_secret_webhooks_are_unavailable(build: Callable[..., Harness]) -> None:
    harness = build(make_config(app_secret=None))
    body = dumps([notification(1, 101)])
    response = post(harness, body, hubspot_headers(body))
    assert response.status_code == 503
    assert "app_secret" in response.json()["detail"]
    assert receipts(harness.store) == 0


def test_a_real_delivery_from_the_sandbox_dispatcher(harness: Harness) -> None:
    """The sandbox's WebhookDispatcher signs and posts; the app verifies and records."""
    config = SandboxConfig(
        app_secret=APP_SECRET,
        webhook_url=HUBSPOT_URL + "?source=sandbox",
        webhook_max_attempts=1,
        webhook_batch_window_s=0.01,
    )
    answers: list[int] = []

    def via_test_client(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> Any:
        response = harness.client.post(url, content=data, headers=headers)
        answers.append(response.status_code)
        return response

    dispatcher = WebhookDispatcher(config, post=via_test_client, wall_ms=lambda: NOW_MS)
    state = SandboxState()
    state.subscribe(dispatcher.notify)
    contact = state.create_contact(
        {"email": "ana@acme.es", "jobtitle": "CIO"}, source=ChangeSource("CRM_UI")
    )
    seed_contacts(harness.store, "hubspot", [contact.id])  # read by an earlier poll
    dispatcher.start()
    try:
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.stop()

    assert answers and set(answers) == {200}
    assert dispatcher.delivered_events == 3  # creation + two property changes
    assert receipts(harness.store) == 3
    assert dirty_ids(harness.store, "hubspot") == {contact.id}


def test_a_delivery_over_the_network_to_uvicorn(sqlite_store: Store) -> None:
    """The sandbox's dispatcher posts with requests to the app served by uvicorn."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    app = create_app(sqlite_store, make_config())  # the real clock: the dispatcher's too
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    config = SandboxConfig(
        app_secret=APP_SECRET,
        webhook_url=f"http://127.0.0.1:{port}/webhooks/hubspot?portal=4200017&via=a%3Ab",
        webhook_max_attempts=1,
        webhook_batch_window_s=0.01,
    )
    dispatcher = WebhookDispatcher(config)
    state = SandboxState()
    state.subscribe(dispatcher.notify)
    dispatcher.start()
    try:
        state.create_contact({"email": "ana@acme.es"}, source=ChangeSource("CRM_UI"))
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.stop()
        server.should_exit = True
        thread.join(10)

    assert [d.status for d in dispatcher.deliveries()] == [200]
    assert receipts(sqlite_store) == 2  # creation + the email property


@pytest.mark.parametrize("kind", ["contact.deletion", "contact.privacyDeletion", "contact.merge"])
def test_a_notification_of_another_portal_erases_nothing(harness: Harness, kind: str) -> None:
    """A public app installed in two portals: portal B deleting (or merging) the id that
    portal A's contact has leaves portal A's contact alone."""
    bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101", "102"])
    add_events(harness.store, {"a-101": {"contact_crm": "hubspot", "contact_crm_id": "101"}})
    item = notification(1, 101, kind=kind) | {"portalId": 9900001}
    if kind == "contact.merge":
        item |= {"primaryObjectId": 102, "mergedObjectIds": [101], "newObjectId": 102}

    with structlog.testing.capture_logs() as logs:
        answer = deliver(harness, [item])

    assert answer["ignored"] == 1 and answer["accepted"] == 0
    assert contact_ids(harness.store) == {("hubspot", "101"), ("hubspot", "102")}
    assert event_keys(harness.store) == {"a-101"}
    assert receipts(harness.store) == 1  # a redelivery is a replay
    assert dirty_ids(harness.store, "hubspot") == set()
    assert answer["records"] == 0
    [line] = [line for line in logs if line["event"] == "webhook.foreign_account"]
    assert line["accounts"] == ["9900001"] and line["bound_account"] == PORTAL
    assert line["log_level"] == "warning"


def test_other_notifications_of_another_portal_store_no_event(harness: Harness) -> None:
    bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101"])
    replied = notification(3, 101, prop="hs_sales_email_last_replied", value=str(NOW_MS - 9))

    answer = deliver(harness, [replied | {"portalId": 9900001}])

    assert (answer["ignored"], answer["events_stored"], answer["records"]) == (1, 0, 0)
    assert events(harness.store) == 0
    assert dirty_ids(harness.store, "hubspot") == set()


def test_a_deletion_of_the_bound_portal_still_erases_and_the_rest_of_the_batch_counts(
    harness: Harness,
) -> None:
    bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101", "102"])

    answer = deliver(
        harness,
        [
            notification(1, 101, kind="contact.deletion"),
            notification(2, 102, kind="contact.deletion") | {"portalId": 9900001},
        ],
    )

    assert (answer["accepted"], answer["ignored"]) == (1, 1)
    assert contact_ids(harness.store) == {("hubspot", "102")}


@pytest.mark.parametrize("bound", [False, True], ids=["no-account-bound", "no-portal-id"])
def test_an_unverifiable_deletion_keeps_the_contact_and_marks_it_for_a_re_read(
    harness: Harness, bound: bool
) -> None:
    """Before the connector's first start no account is bound, and a notification
    without ``portalId`` names none: neither can prove it is this store's portal."""
    if bound:
        bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101"])
    add_events(harness.store, {"a-101": {"contact_crm": "hubspot", "contact_crm_id": "101"}})
    item = notification(1, 101, kind="contact.deletion")
    if bound:
        del item["portalId"]

    with structlog.testing.capture_logs() as logs:
        answer = deliver(harness, [item])

    assert answer["accepted"] == 1
    assert contact_ids(harness.store) == {("hubspot", "101")}
    assert event_keys(harness.store) == {"a-101"}
    assert dirty_ids(harness.store, "hubspot") == {"101"}
    assert answer["records"] == 1
    assert "contact.identity_unverified" in [line["event"] for line in logs]


def test_a_deletion_keeps_the_events_of_another_crms_contact_with_the_same_email(
    harness: Harness,
) -> None:
    """HubSpot's 101 and Salesforce's 003A have one email: deleting 101 in HubSpot
    erases 101's rows only; ``crmbridge forget EMAIL`` still erases both."""
    bind_portal(harness.store)
    seed_contacts(harness.store, "hubspot", ["101"])
    seed_contacts(harness.store, "salesforce", ["003A"])
    with harness.store.engine.begin() as connection:
        connection.execute(
            ContactRow.__table__.update().values(email="shared@example.com")  # type: ignore[attr-defined]
        )
    seed_contacts(harness.store, "hubspot", ["102"])  # its own email, c102@example.com
    hubspot, salesforce = (
        contact_row(harness.store, "hubspot", "101"),
        contact_row(harness.store, "salesforce", "003A"),
    )
    add_events(
        harness.store,
        {
            "hs-linked": {"contact_id": hubspot},
            "hs-named": {"contact_crm": "hubspot", "contact_crm_id": "101"},
            "sf-linked": {"contact_id": salesforce},
            "web-shared": {"contact_email": "shared@example.com"},
            "web-102": {"contact_email": "c102@example.com"},
        },
    )

    deliver(
        harness,
        [
            notification(1, 101, kind="contact.deletion"),
            notification(2, 102, kind="contact.deletion"),
        ],
    )

    assert contact_ids(harness.store) == {("salesforce", "003A")}
    # 102's email is nobody else's: its web event goes with it.
    assert event_keys(harness.store) == {"sf-linked", "web-shared"}
    with harness.store.engine.begin() as connection:
        erased = forget(connection, find_person(connection, "Shared@Example.com"))
    assert (erased.contacts, erased.events) == (1, 2)
    assert event_keys(harness.store) == set()


# -- the receiver on its own (no daemon) -----------------------------------------------------


def _request(body: bytes, headers: dict[str, str], url: str = HUBSPOT_URL) -> WebhookRequest:
    lowered = {name.lower(): value for name, value in headers.items()}
    return WebhookRequest("POST", (url,), lowered, {}, body, NOW)


def test_the_receiver_verifies_and_parses_without_the_daemon() -> None:
    receiver = HubSpotWebhooks(SecretStr(APP_SECRET))
    merge = notification(4, 101, kind="contact.merge") | {
        "mergedObjectIds": [102],
        "newObjectId": 103,
    }
    body = dumps([notification(1, 101), notification(2, 104, kind="contact.deletion"), merge])
    request = _request(body, hubspot_headers(body))

    receiver.verify(request)
    delivery = receiver.parse(request)

    assert receiver.unavailable() is None
    assert delivery.answer is None  # the daemon answers the counts
    changed, deleted, merged = delivery.changes
    assert (changed.crm_ids, changed.gone_because, changed.account) == (("101",), None, PORTAL)
    assert (deleted.crm_ids, deleted.gone, deleted.gone_because) == ((), ("104",), Gone.DELETED)
    assert (merged.crm_ids, merged.gone_because) == (("103",), Gone.MERGED)
    assert set(merged.gone) == {"101", "102"}
    with pytest.raises(WebhookError) as refused:
        receiver.verify(_request(body, hubspot_headers(body, secret="other")))
    assert refused.value.status == 401


def test_a_receiver_without_an_app_secret_names_the_setting() -> None:
    receiver = HubSpotWebhooks.from_settings(HubSpotSettings())
    assert "connectors.hubspot.app_secret" in (receiver.unavailable() or "")
    with pytest.raises(WebhookError) as refused:
        receiver.verify(_request(b"[]", {}))
    assert refused.value.status == 503
