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
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.errors import TransientError


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
        fills from there. Text that is no cursor raises :class:`CorruptCursorError`.
        """
        if not text:
            return cls()
        try:
            data = json.loads(text)
            at = _instant(data.get("at"))
            if "seen" not in data:
                ids = data.get("ids") or ()
                return cls(at, dict.fromkeys(_ids(ids), at) if at else {}, at)
            seen: dict[str, datetime] = {}
            for moment, ids in data["seen"]:
                instant = _instant(moment)
                if instant is None:
                    raise ValueError("a remembered record without its modification time")
                seen.update(dict.fromkeys(_ids(ids), instant))
            return cls(at, seen, _instant(data.get("since")))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise CorruptCursorError(
                f"the stored read position is unreadable ({_reason(exc)})"
            ) from None

    @classmethod
    def restore(cls, text: str | None) -> tuple[LookbackCursor, CorruptCursorError | None]:
        """The cursor ``text`` stands for, or a safe one when it is corrupt (with why).

        The safe cursor skips nothing: it re-reads the look-back window before the
        newest modification the text still names, remembering nothing read (records
        read twice are harmless, records skipped are lost); without a readable
        modification, it reads from the beginning.
        """
        try:
            return cls.decode(text), None
        except CorruptCursorError as corrupt:
            at: datetime | None = None
            try:
                data = json.loads(text or "")
                at = _instant(data.get("at")) if isinstance(data, dict) else None
            except (ValueError, TypeError, OverflowError):
                at = None
            where = f"the look-back window before {at.isoformat()}" if at else "the beginning"
            reset = CorruptCursorError(f"{corrupt.message}; read again from {where}")
            return cls(at, {}, None), reset

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


class CorruptCursorError(TransientError):
    """A stored read position that cannot be read: reported once, read again safely.

    A :class:`~crmbridge.errors.TransientError`: the next poll reads on (from the safe
    position the store then holds).
    """


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise TypeError(f"{type(value).__name__} where a time was expected")
    return parse_instant(value)


def _ids(ids: Any) -> list[str]:
    if isinstance(ids, str | bytes) or not isinstance(ids, list | tuple):
        raise TypeError("record ids are not a list")
    return [str(i) for i in ids]


def _reason(exc: BaseException) -> str:
    """Why a cursor could not be read, in a few words (never the whole text)."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


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
