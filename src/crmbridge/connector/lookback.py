"""An incremental read cursor that re-reads a look-back window, for CRMs whose search lags.

A CRM whose search index lags behind its writes (HubSpot's CRM search) can show a
record modified at 10:00:05 before one modified at 10:00:01. A cursor that only moves
forward (:class:`~crmbridge.connector.TieCursor`) then never reads the earlier one.
:class:`LookbackCursor` starts each sweep a window *before* the newest modification it
read and remembers the newest modification read of every record within that window,
so a late-indexed record is read once it shows up, and a record already read is
dropped, not read twice.

Two bounds keep the re-reading cheap: the window (records modified longer ago than
that before the newest one read are forgotten), and ``keep``, the most records
remembered, so a sweep re-reads at most ``keep`` records it already has. When more
than ``keep`` records were modified within the window, the sweep starts at the oldest
one remembered instead: a record indexed later than ``keep`` newer modifications is
then missed by the search and left to webhooks and the next change of that record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crmbridge.clock import parse_instant


@dataclass(frozen=True, slots=True)
class LookbackCursor:
    """Where an incremental read stands: the newest modification read, and a window
    of records read recently, with the newest modification read of each.

    ``seen`` holds every record read with a modification at or after ``since``
    (``since`` is ``None`` while nothing was forgotten). Treat it as read-only.
    """

    at: datetime | None = None
    seen: Mapping[str, datetime] = field(default_factory=dict)
    since: datetime | None = None

    def encode(self) -> str:
        """The text persisted in the cursors table.

        It keeps :class:`~crmbridge.connector.TieCursor`'s ``at`` and ``ids`` keys, so an
        older crmbridge reading it goes on from ``at`` (without the look-back).
        """
        by_time: dict[datetime, list[str]] = {}
        for record_id, moment in self.seen.items():
            by_time.setdefault(moment, []).append(record_id)
        ids = sorted(by_time.get(self.at, ())) if self.at else []
        return json.dumps(
            {
                "at": self.at.isoformat() if self.at else None,
                "ids": ids,
                "since": self.since.isoformat() if self.since else None,
                "seen": [[t.isoformat(), sorted(by_time[t])] for t in sorted(by_time)],
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str | None) -> LookbackCursor:
        """Parse a persisted cursor; ``None`` reads from the beginning.

        A :class:`~crmbridge.connector.TieCursor` (``at`` and ``ids`` only) decodes to a
        cursor that has read the ``ids`` at ``at`` and nothing it remembers before it:
        its first sweep starts at ``at``, as the older cursor would, and the window
        fills from there.
        """
        if not text:
            return cls()
        data = json.loads(text)
        at = parse_instant(data["at"]) if data.get("at") else None
        if "seen" not in data:
            return cls(at, dict.fromkeys(map(str, data.get("ids", ())), at) if at else {}, at)
        seen: dict[str, datetime] = {}
        for moment, ids in data["seen"]:
            instant = parse_instant(moment)
            seen.update(dict.fromkeys(map(str, ids), instant))
        since = parse_instant(data["since"]) if data.get("since") else None
        return cls(at, seen, since)

    def start(self, window: timedelta) -> datetime | None:
        """Where the next sweep begins (``None``: from the beginning).

        ``window`` before the newest modification read, but never before ``since``:
        below it the cursor no longer knows what it read.
        """
        if self.at is None:
            return None
        begin = self.at - window
        return max(begin, self.since) if self.since is not None else begin

    def admits(self, at: datetime, record_id: str) -> bool:
        """True if this modification of the record has not been read (nor a newer one)."""
        read = self.seen.get(record_id)
        if read is not None:
            return at > read
        return self.since is None or at >= self.since

    def advance(
        self,
        page: Sequence[tuple[datetime, str]],
        *,
        window: timedelta,
        keep: int,
        floor: datetime,
        ahead: Sequence[tuple[datetime, str]] = (),
    ) -> LookbackCursor:
        """The cursor after reading ``page`` (``(modified_at, id)`` pairs it admitted).

        ``floor`` is where the sweep goes on from: records modified before it are not
        met again in this sweep, so only they may be forgotten (a record forgotten and
        then met again would be read twice). Forgets what lies more than ``window``
        before the newest modification, then the oldest beyond ``keep`` records.
        ``ahead`` are versions read by id, which search may not show yet: remembered
        (so they are not read again once it does) without moving ``at`` to them.
        """
        if not page:
            return self
        seen = dict(self.seen)
        for moment, record_id in (*page, *ahead):
            previous = seen.get(record_id)
            if previous is None or moment > previous:
                seen[record_id] = moment
        newest = max(moment for moment, _ in page)
        at = newest if self.at is None or newest > self.at else self.at
        cut = min(at - window, floor)
        if len(seen) > keep:
            cut = max(cut, min(_keep_from(seen.values(), keep), floor))
        since = self.since
        if since is None or cut > since:
            dropped = [record_id for record_id, moment in seen.items() if moment < cut]
            if dropped or since is not None:
                for record_id in dropped:
                    del seen[record_id]
                since = cut
        return LookbackCursor(at, seen, since)


def _keep_from(moments: Iterable[datetime], keep: int) -> datetime:
    """The earliest instant from which at most ``keep`` of ``moments`` lie (at or after
    it). The newest instant is always kept, however many records share it: they are
    the ties the next sweep must skip."""
    ordered = sorted(moments, reverse=True)
    if keep <= 0 or len(ordered) <= keep:
        return ordered[0] if keep <= 0 else ordered[-1]
    boundary: datetime = ordered[keep - 1]
    if len(ordered) > keep and ordered[keep] == boundary:
        # The boundary instant holds more records than fit: keep none of them, unless
        # that instant is the newest (a block of ties is never split).
        later = [m for m in ordered[:keep] if m > boundary]
        return min(later) if later else boundary
    return boundary
