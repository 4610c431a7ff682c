"""The HubSpot connector: incremental search reads, batched writes, schema bootstrap.

Reads use CRM search on ``lastmodifieddate`` ascending. Each query starts at the
stored cursor (a :class:`~crmbridge.connector.LookbackCursor`), so records edited while
we page can never shift past us, and the 10,000-result cap of a search is never reached;
a block of more than one page of records sharing one timestamp is paged by record id.
Each read starts a look-back window early, because HubSpot's search indexes a change
some moments after it is made (records already read are dropped).
Writes use batch update, 100 records a call; when HubSpot rejects a whole batch for one
bad value the batch is split until the bad record is isolated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from crmbridge.clock import parse_instant
from crmbridge.connector import (
    CheckReport,
    FieldSpec,
    LookbackCursor,
    Page,
    Write,
    WriteResult,
)
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.errors import (
    AuthError,
    ConfigError,
    ConfigProblem,
    CrmbridgeError,
    MissingScope,
    RateLimited,
    TransientError,
)
from crmbridge.logging import get_logger
from crmbridge.records import ContactRecord
from crmbridge_hubspot.activity import ACTIVITY_PROPERTIES, activity_events
from crmbridge_hubspot.batch_update import update_batches
from crmbridge_hubspot.client import HubSpotClient, unparsed
from crmbridge_hubspot.companies import HubSpotCompanies
from crmbridge_hubspot.deals import HubSpotOutcomes
from crmbridge_hubspot.errors import Conflict, NoAnswer, NotFound
from crmbridge_hubspot.handoff import HubSpotHandoff
from crmbridge_hubspot.oauth import OAUTH_BURST, OAuthTokens, TokenSource
from crmbridge_hubspot.schema import GROUP, property_definition
from crmbridge_hubspot.scopes import missing_scopes
from crmbridge_hubspot.settings import DEFAULT_LOOKBACK, DEFAULT_LOOKBACK_PAGES, HubSpotSettings
from crmbridge_hubspot.sweep import SEARCH_LIMIT, Answer, Query, Row, read_pages, search_body

#: A contact's properties as a read answers them (values may be null).
Record = dict[str, Any]
#: Changed by every write, ours included: kept as ``updated_at``, never as an input,
#: or each echo of our own writes would look like a change worth rescoring.
VOLATILE = frozenset({"lastmodifieddate", "hs_lastmodifieddate"})
#: On a surviving contact: the ids of the contacts merged into it, ";"-separated.
MERGED_IDS = "hs_merged_object_ids"
BATCH_LIMIT = 100
LIMITATIONS = (
    "HubSpot's public API cannot pause or unenroll a contact from a sales sequence. "
    "HubSpot itself unenrolls a contact who replies when the sequence's setting is on; "
    "crmbridge confirms it, sets crmbridge_sequence_paused and gives the owner a task.",
)


def shown_url(url: str) -> str:
    """``url`` as a message may show it: scheme, host, port and path, no user or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url


class HubSpotConnector:
    """crmbridge's :class:`~crmbridge.connector.Connector` for HubSpot."""

    name = "hubspot"
    max_batch_size = BATCH_LIMIT

    def __init__(
        self,
        client: HubSpotClient,
        *,
        lookback: timedelta = DEFAULT_LOOKBACK,
        lookback_pages: int = DEFAULT_LOOKBACK_PAGES,
    ) -> None:
        self.client = client
        #: How far before the newest modification read each read starts again.
        self.lookback = lookback
        #: The most records a read re-reads because of the look-back (whole pages).
        self.lookback_records = lookback_pages * SEARCH_LIMIT
        #: Owners, tasks, sequence enrollments and lists (crmbridge_hubspot/handoff.py).
        self.handoff = HubSpotHandoff(client)
        #: Contacts' companies, for ``company.`` rules (crmbridge_hubspot/companies.py).
        self.companies = HubSpotCompanies(client, lookback=lookback, keep=self.lookback_records)
        #: Closed deals and their contacts, for backtests (crmbridge_hubspot/deals.py).
        self.outcomes = HubSpotOutcomes(client)

    @classmethod
    def from_settings(cls, settings: HubSpotSettings) -> HubSpotConnector:
        """Build from ``[connectors.hubspot]``; a missing token is a config error.

        A private-app ``access_token`` wins; without one, an OAuth app's client id,
        secret and refresh token give access tokens, first asked for by the first call.
        """
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        timeout = settings.timeout.total_seconds()
        source: str | TokenSource = token
        if not token and settings.refresh_token and settings.client_id and settings.client_secret:
            source = OAuthTokens(settings, timeout=(timeout, timeout))
        elif not token:
            raise ConfigError(
                [
                    ConfigProblem(
                        "connectors.hubspot.access_token",
                        "not set",
                        "set HUBSPOT_ACCESS_TOKEN (the file says "
                        'access_token = "${HUBSPOT_ACCESS_TOKEN}")',
                    )
                ]
            )
        if isinstance(source, OAuthTokens):
            client = HubSpotClient(source, settings.base_url, burst=OAUTH_BURST, timeout=timeout)
        else:
            client = HubSpotClient(source, settings.base_url, timeout=timeout)
        return cls(client, lookback=settings.lookback, lookback_pages=settings.lookback_pages)

    def __repr__(self) -> str:
        return f"HubSpotConnector(base_url={self.client.sdk.config.get('base_url')!r})"

    @property
    def rate_governor(self) -> RateGovernor:
        """The client's governor: HubSpot's burst budget, shared by every call."""
        return self.client.governor

    @property
    def search_governor(self) -> RateGovernor:
        """The client's search governor: five searches a second, outside the window."""
        return self.client.search_governor

    # -- check and schema -------------------------------------------------------------

    def check(self) -> CheckReport:
        """Verify the token and its scopes; list what is missing and what HubSpot cannot do."""
        problems: list[str] = []
        limitations = list(LIMITATIONS)
        account = account_id = ""
        unreachable = False
        try:
            account_id, scopes = self._token_info()
            oauth = self.client.tokens.oauth
            account = f"HubSpot account {account_id or '?'}" + (" (OAuth app)" if oauth else "")
            lacking = missing_scopes(scopes, "OAuth app" if oauth else "private app")
            problems.extend(lacking.problems)
            limitations.extend(lacking.limitations)
        except (AuthError, MissingScope) as exc:
            problems.append(str(exc))
        except CrmbridgeError as exc:
            if isinstance(exc, NoAnswer):
                # Nothing answered at all: say where crmbridge knocked, and why it failed.
                problems.append(f"{exc} (tried {shown_url(self.client.base_url)})")
                unreachable = True
            else:
                # Not a private-app token (or an older account): the account's details
                # prove the token works and name the account.
                try:
                    details = self.client.raw("account details", "GET", "/account-info/v3/details")
                    account_id = str(details.get("portalId") or "")
                    account = (
                        f"HubSpot account {account_id or '?'} (scopes not listable with this token)"
                    )
                except CrmbridgeError as exc:
                    problems.append(str(exc))
                    unreachable = isinstance(exc, TransientError | RateLimited)
        return CheckReport(
            ok=not problems,
            account=account,
            account_id=account_id,
            problems=tuple(problems),
            limitations=tuple(limitations),
            reachable=not unreachable,
        )

    def _token_info(self) -> tuple[str, set[str]]:
        """The account id and the scopes of the token, from the token-info endpoint of
        the auth mode (a private app's and an OAuth app's are different endpoints)."""
        token = self.client.tokens.token()
        if self.client.tokens.oauth:
            info = self.client.call(
                "token info", self.client.sdk.oauth.access_tokens_api.get_with_http_info, token
            )
            return str(info.hub_id or ""), set(info.scopes or [])
        found = self.client.raw(
            "token info",
            "POST",
            "/oauth/v2/private-apps/get/access-token-info",
            body={"tokenKey": token},
        )
        return str(found.get("hubId") or ""), set(found.get("scopes") or [])

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create the crmbridge property group and any missing property; idempotent."""
        try:
            self.client.call(
                "get property group",
                self.client.groups_api.get_by_name_with_http_info,
                "contacts",
                GROUP["name"],
            )
        except NotFound:
            self._create(
                "create property group", self.client.groups_api.create_with_http_info, GROUP
            )
        existing = {
            prop.name: prop
            for prop in self.client.call(
                "list properties", self.client.properties_api.get_all_with_http_info, "contacts"
            ).results
            or []
        }
        created = []
        for field in fields:
            if field.name in existing:
                self._relabel(existing[field.name], property_definition(field))
                continue
            if self._create(
                f"create property {field.name}",
                self.client.properties_api.create_with_http_info,
                property_definition(field),
            ):
                created.append(field.name)
        return created

    def _relabel(self, held: Any, wanted: dict[str, Any]) -> None:
        """Give a crmbridge property the label and description of the configured language
        (``[bridge] language`` changed since it was created). Only properties in
        crmbridge's own group: one an admin moved elsewhere is theirs to name."""
        if getattr(held, "group_name", None) != GROUP["name"]:
            return
        change = {
            key: wanted[key]
            for key in ("label", "description")
            if (getattr(held, key, None) or "") != wanted[key]
        }
        if not change:
            return
        self.client.call(
            f"relabel property {held.name}",
            self.client.properties_api.update_with_http_info,
            "contacts",
            held.name,
            change,
        )
        get_logger(connector=self.name).info("schema.relabelled", property=held.name)

    def property_names(self) -> frozenset[str]:
        """Every contact property of the portal, HubSpot's and custom ones (one request)."""
        existing = self.client.call(
            "list properties", self.client.properties_api.get_all_with_http_info, "contacts"
        )
        return frozenset(prop.name for prop in existing.results or [])

    def _create(self, what: str, method: Any, body: dict[str, Any]) -> bool:
        try:
            self.client.call(what, method, "contacts", body)
        except Conflict:  # created meanwhile (another replica): fine
            return False
        return True

    # -- reading ----------------------------------------------------------------------

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        """Contacts modified since ``cursor``, oldest first, 200 per search call.

        Each sweep starts :attr:`lookback` before the newest modification read (see
        :class:`~crmbridge.connector.LookbackCursor`): HubSpot's search shows a change
        only once it is indexed, so a record modified earlier can appear after a later
        one. Records already read at that modification are dropped.
        """
        wanted = sorted(
            {*properties, *ACTIVITY_PROPERTIES, "email", "lastmodifieddate", MERGED_IDS}
        )

        # Every read answer is taken as JSON: building the SDK's models of 200 contacts
        # (a datetime parse per timestamp) costs more than the call itself.
        def search(query: Query, names: list[str] = wanted) -> Answer[Record]:
            raw = self.client.call(
                "search contacts",
                unparsed(self.client.search_api.do_search_with_http_info),
                search_body(query, names),
                search=True,
            )
            return search_answer(raw)

        def light(query: Query) -> Answer[None]:
            # The look-back is mostly records already read: ids and times suffice.
            raw = self.client.call(
                "search contacts",
                unparsed(self.client.search_api.do_search_with_http_info),
                search_body(query, ["lastmodifieddate"]),
                search=True,
            )
            return light_answer(raw)

        def fetch(ids: Sequence[str]) -> list[Row[Record]]:
            rows: list[Row[Record]] = []
            for start in range(0, len(ids), BATCH_LIMIT):
                body = {
                    "inputs": [{"id": i} for i in ids[start : start + BATCH_LIMIT]],
                    "properties": wanted,
                    "propertiesWithHistory": [],
                }
                raw = self.client.call(
                    "batch read contacts",
                    unparsed(self.client.batch_api.read_with_http_info),
                    body,
                    archived=False,
                )
                rows.extend(search_answer(raw, "batch read").rows)
            return sorted(rows, key=lambda row: (row[0], int(row[1])))

        start, corrupt = LookbackCursor.restore(cursor)
        if corrupt is not None:
            # The safe position is stored at once, so the corrupt one is reported once.
            get_logger(connector=self.name).warning("cursor.reset", reason=str(corrupt))
            yield Page((), start.encode(), ())
        for fresh, position in read_pages(
            start,
            search,
            light=light,
            fetch=fetch,
            window=self.lookback,
            keep=self.lookback_records,
        ):
            yield self._page(fresh, position)
        if corrupt is not None:
            # After the read: the poll's failure tells /healthz and the cycle's report.
            raise corrupt

    def _page(self, fresh: Sequence[Row[Record]], position: LookbackCursor) -> Page:
        records = []
        events = []
        for at, rid, result in fresh:
            props = {
                k: v if isinstance(v, str) else str(v)
                for k, v in result.items()
                if v is not None and k not in VOLATILE
            }
            records.append(
                ContactRecord(
                    crm=self.name,
                    id=rid,
                    email=props.get("email") or None,
                    properties=props,
                    updated_at=at,
                    merged_ids=tuple(i for i in str(props.get(MERGED_IDS, "")).split(";") if i),
                )
            )
            events.extend(activity_events(rid, props, at))
        return Page(tuple(records), position.encode(), tuple(events))

    def read_values(
        self, crm_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """Current values by batch read, 100 ids a call; unknown ids are left out."""
        found: dict[str, dict[str, str | None]] = {}
        ids = list(crm_ids)
        for start in range(0, len(ids), BATCH_LIMIT):
            body = {
                "inputs": [{"id": i} for i in ids[start : start + BATCH_LIMIT]],
                "properties": list(properties),
                "propertiesWithHistory": [],
            }
            data = self.client.call(
                "batch read contacts",
                self.client.batch_api.read_with_http_info,
                body,
                archived=False,
            )
            for result in data.results or []:
                props = result.properties or {}
                found[str(result.id)] = {p: props.get(p) for p in properties}
        return found

    # -- writing ----------------------------------------------------------------------

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Batch update; one result per record, a bad record never sinks the others."""
        return update_batches(
            self.client, "batch update contacts", self.client.batch_api.update_with_http_info, batch
        )


def light_answer(raw: bytes) -> Answer[None]:
    """A search answer read for ids and modification times only (see
    :func:`search_answer`)."""
    answer = search_answer(raw)
    return Answer([(at, rid, None) for at, rid, _ in answer.rows], answer.more)


def search_answer(raw: bytes, what: str = "search") -> Answer[Record]:
    """A search (or batch read) answer: each contact's modification time, id and
    properties, and whether a full page says more follow.

    An answer not shaped as HubSpot's (a proxy's page, a truncated body, a result
    without its id or time) is a :class:`~crmbridge.errors.TransientError` saying
    what was wrong: the poll fails and the next one asks again.
    """
    try:
        data = json.loads(raw or b"{}")
        results = data.get("results") or []
        if not isinstance(results, list):
            raise TypeError("results is not a list")
        paging = data.get("paging") or {}
        more = bool(paging.get("next")) and len(results) == SEARCH_LIMIT
        rows: list[Row[Record]] = []
        for result in results:
            record_id, moment = result["id"], result["updatedAt"]
            if not isinstance(record_id, str | int) or not isinstance(moment, str):
                raise TypeError("a result's id or updatedAt is not a value")
            properties = result.get("properties") or {}
            if not isinstance(properties, dict):
                raise TypeError("a result's properties are not an object")
            rows.append((parse_instant(moment), str(record_id), properties))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise TransientError(
            f"HubSpot's contact {what} answered a malformed body ({_why(exc)})"
        ) from None
    return Answer(rows, more)


def _why(exc: BaseException) -> str:
    """A parsing error in a few words: its type and start, never a whole body."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 120 else text[:117] + "..."
