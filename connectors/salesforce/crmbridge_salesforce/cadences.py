"""Sales Engagement cadences: enroll, pause or remove a lead or contact, and confirm it.

Every change goes through Salesforce's standard invocable actions
(``POST actions/standard/<name>`` with ``{"inputs": [...]}``, one input a call here):
``assignTargetToSalesCadence`` enrolls, ``pauseSalesCadenceTracker`` pauses (API 50.0+)
and ``removeTargetFromSalesCadence`` ends the enrollment. What Salesforce did is then
read back from ``ActionCadenceTracker`` (the target's Running or Paused tracker): a
change counts as done only once the tracker shows it. A cadence may be named by its
name or its id; the tracker holds the id, so a name is looked up once
(``ActionCadence``) before an enrollment is compared with it.
"""

from __future__ import annotations

from typing import Any, Literal

from simple_salesforce.format import format_soql

from crmbridge.connector import EnrollmentState, WriteResult
from crmbridge.errors import PermanentRecordError
from crmbridge_salesforce.client import SalesforceClient
from crmbridge_salesforce.reads import query_pages

ACTIONS = "actions/standard"
#: The key prefix of an ActionCadence id.
CADENCE_PREFIX = "77c"
#: A tracker in one of these states holds the target in its cadence.
ACTIVE = ("Running", "Paused")
#: Why crmbridge removes a target (a rep's removal, as Salesforce names it).
REMOVED = "ManuallyRemoved"
OnReply = Literal["pause", "remove"]


class Cadences:
    """The cadence operations on one org; ``on_reply`` chooses pause or removal."""

    def __init__(self, client: SalesforceClient, *, on_reply: OnReply = "pause") -> None:
        self.client = client
        self.on_reply = on_reply
        self._ids: dict[str, str] = {}

    def cadence_ids(self, cadence: str) -> tuple[str, ...]:
        """The ids (15 and 18 characters) a tracker of ``cadence`` (a name or an id) holds;
        none for a name the org has no cadence of."""
        if cadence.startswith(CADENCE_PREFIX) and len(cadence) in (15, 18):
            return (cadence, cadence[:15])
        if cadence not in self._ids:
            soql = format_soql("SELECT Id FROM ActionCadence WHERE Name = {}", cadence)
            for page in query_pages(
                self.client, soql, 200, what="find the cadence", include_deleted=False
            ):
                for row in page:
                    self._ids[cadence] = str(row.get("Id") or "")
                    break
        found = self._ids.get(cadence, "")
        return (found, found[:15]) if found else ()

    def holds(self, row: dict[str, Any] | None, cadence: str) -> bool:
        """Does the tracker ``row`` belong to ``cadence`` (a name or an id)?"""
        held = str((row or {}).get("ActionCadenceId") or "")
        return bool(held) and held in self.cadence_ids(cadence)

    def tracker(self, crm_id: str) -> dict[str, Any] | None:
        """The target's active tracker (Running or Paused), if any."""
        soql = format_soql(
            "SELECT Id, ActionCadenceId, State FROM ActionCadenceTracker "
            "WHERE TargetId = {} AND State IN {}",
            crm_id,
            list(ACTIVE),
        )
        for page in query_pages(
            self.client, soql, 200, what="read the cadence tracker", include_deleted=False
        ):
            for row in page:
                return row
        return None

    def enrollment(self, crm_id: str) -> EnrollmentState | None:
        """The target's active enrollment as crmbridge describes one."""
        row = self.tracker(crm_id)
        if row is None:
            return None
        return EnrollmentState(str(row.get("ActionCadenceId") or ""), str(row.get("Id") or ""))

    def enroll(self, crm_id: str, cadence: str, user_id: str | None) -> WriteResult:
        """Assign the target to ``cadence`` (its id or name), sent by ``user_id``."""
        inputs: dict[str, Any] = {"salesCadenceNameOrId": cadence, "targetId": crm_id}
        if user_id:
            inputs["userId"] = user_id
        refused = self._invoke("assignTargetToSalesCadence", inputs)
        row = self.tracker(crm_id)
        if self.holds(row, cadence):
            return WriteResult(crm_id, True)
        if refused is None:
            return WriteResult(
                crm_id, False, "the cadence tracker does not show the enrollment", retriable=True
            )
        if row is not None:
            return WriteResult(crm_id, False, "already in another cadence", retriable=True)
        return WriteResult(crm_id, False, refused)

    def stop(self, crm_id: str) -> WriteResult:
        """Pause or remove the target's cadence, confirmed by its tracker."""
        row = self.tracker(crm_id)
        if row is None or self.stopped(row):
            return WriteResult(crm_id, True)  # nothing runs: nothing to stop
        if self.on_reply == "pause":
            refused = self._invoke("pauseSalesCadenceTracker", {"targetId": crm_id})
        else:
            refused = self._invoke(
                "removeTargetFromSalesCadence",
                {"actionCadenceTrackerId": str(row.get("Id")), "completionReasonCode": REMOVED},
            )
        after = self.tracker(crm_id)
        if after is None or self.stopped(after):
            return WriteResult(crm_id, True)
        why = refused or "the cadence tracker still shows it running"
        return WriteResult(crm_id, False, f"the cadence was not stopped: {why}", retriable=True)

    def stopped(self, row: dict[str, Any]) -> bool:
        """Is the tracker as a reply leaves it (paused, or no longer active)?"""
        state = row.get("State")
        return state not in ACTIVE or (self.on_reply == "pause" and state == "Paused")

    def _invoke(self, action: str, inputs: dict[str, Any]) -> str | None:
        """Run one invocable action; the reason Salesforce refused it, or None."""
        try:
            self.client.rest(
                f"run {action}",
                f"{ACTIONS}/{action}",
                method="POST",
                write=True,
                json={"inputs": [inputs]},
            )
        except PermanentRecordError as exc:
            return str(exc)
        return None
