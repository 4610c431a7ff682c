"""An incremental read cursor on a modification timestamp."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crmbridge.clock import parse_instant


@dataclass(frozen=True, slots=True)
class TieCursor:
    """An incremental cursor on a modification timestamp that survives ties.

    Records are read oldest first. Several records can share the last timestamp of a
    page, and the next page may hold more of them; the cursor therefore remembers the
    ids already seen *at* that timestamp, reads ``>= at`` next time and drops those
    ids, so no record at a page boundary is lost or read twice.
    """

    at: datetime | None = None
    ids: frozenset[str] = field(default_factory=frozenset)

    def encode(self) -> str:
        """The text persisted in the cursors table."""
        return json.dumps(
            {"at": self.at.isoformat() if self.at else None, "ids": sorted(self.ids)},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str | None) -> TieCursor:
        """Parse a persisted cursor (``None`` means read from the beginning)."""
        if not text:
            return cls()
        data = json.loads(text)
        at = parse_instant(data["at"]) if data.get("at") else None
        return cls(at, frozenset(data.get("ids", ())))

    def admits(self, at: datetime, record_id: str) -> bool:
        """True if a record modified at ``at`` has not been read yet."""
        if self.at is None or at > self.at:
            return True
        return at == self.at and record_id not in self.ids

    def advance(self, page: Sequence[tuple[datetime, str]]) -> TieCursor:
        """The cursor after reading ``page`` (``(modified_at, id)`` pairs, oldest first)."""
        if not page:
            return self
        last = page[-1][0]
        seen = {record_id for at, record_id in page if at == last}
        if last == self.at:
            seen |= self.ids
        return TieCursor(last, frozenset(seen))
