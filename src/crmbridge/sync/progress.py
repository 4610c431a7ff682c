"""How far a cycle has got, told to whoever shows it (``run --once`` on a terminal).

A cycle calls ``progress(counter, done, expected)`` as it goes: ``done`` more items of
``counter`` were handled, and ``expected`` more are now known to be coming (0 when it
cannot say: how many contacts a CRM will hand over is not known in advance).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]

#: Contacts read from a CRM.
READ = "read"
#: Contacts rescored.
SCORED = "scored"
#: Contacts whose properties a CRM accepted.
WRITTEN = "written"
#: Outbox rows handed to a CRM (property writes and hand-off actions), whatever the answer.
SENT = "sent"
COUNTERS = (READ, SCORED, WRITTEN, SENT)
