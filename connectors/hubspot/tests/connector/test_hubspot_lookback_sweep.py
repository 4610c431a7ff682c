"""The look-back read against a simulated search index that shows changes late.

Any interleaving of modifications, index delays (up to the window) and reads: no
version is read twice, never an older version after a newer one, every version search
ever showed is read (or a newer one of that record is), every record's last version
is read; and the look-back costs at most ``keep`` re-read records per read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from crmbridge.connector import LookbackCursor
from crmbridge_hubspot.sweep import Answer, Query, read_pages

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
WINDOW = timedelta(seconds=30)
PAGE = 3


@dataclass
class LaggingIndex:
    """Records whose versions become searchable ``lag`` after they are made.

    Search shows each record's newest version already indexed (as HubSpot's index
    does: a later version indexed sooner supersedes an earlier one still pending).
    """

    now: datetime = T0
    versions: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    searches: int = 0
    fetches: int = 0

    def modify(self, record_id: str, lag: timedelta) -> None:
        mine = self.versions.setdefault(record_id, [])
        modified = max(self.now, mine[-1][0] + MS) if mine else self.now
        mine.append((modified, modified + lag))

    def visible(self) -> dict[str, datetime]:
        shown: dict[str, datetime] = {}
        for record_id, versions in self.versions.items():
            indexed = [modified for modified, visible in versions if visible <= self.now]
            if indexed:
                shown[record_id] = max(indexed)
        return shown

    def current(self, ids: Sequence[str]) -> list[tuple[datetime, str, None]]:
        """Reads by id: the newest version, indexed or not."""
        self.fetches += 1
        return sorted((self.versions[rid][-1][0], rid, None) for rid in ids)

    def search(self, query: Query) -> Answer[None]:
        self.searches += 1
        rows = sorted((m, rid) for rid, m in self.visible().items())
        if query.newest:
            return Answer([(m, r, None) for m, r in rows[-1:]], False)
        if query.before is not None:
            rows = [(m, r) for m, r in rows if m < query.before]
        if query.start is not None:
            if query.after_id is not None:
                rows = [(m, r) for m, r in rows if m == query.start and int(r) > query.after_id]
            elif query.strict:
                rows = [(m, r) for m, r in rows if m > query.start]
            else:
                rows = [(m, r) for m, r in rows if m >= query.start]
        rows.sort(key=lambda row: (row[0], int(row[1])))
        return Answer([(m, r, None) for m, r in rows[:PAGE]], len(rows) > PAGE)


def read(
    index: LaggingIndex, cursor: str | None, keep: int, small: int = 50
) -> tuple[list[tuple[datetime, str]], str | None]:
    """One read: the pairs read and the cursor persisted after the last page."""
    got: list[tuple[datetime, str]] = []
    for fresh, position in read_pages(
        LookbackCursor.decode(cursor),
        index.search,
        light=index.search,
        fetch=index.current,
        window=WINDOW,
        keep=keep,
        small=small,
    ):
        got.extend((m, rid) for m, rid, _ in fresh)
        cursor = position.encode()
    return got, cursor


#: One step: modify a record (id, lag in ms) or let time pass (ms) and read.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("modify"), st.integers(0, 7), st.integers(0, 30_000)),
        st.tuples(st.just("read"), st.integers(0, 5_000), st.just(0)),
        st.tuples(st.just("wait"), st.integers(0, 3), st.just(0)),
    ),
    max_size=60,
)


@settings(deadline=None)
@given(steps, st.sampled_from([0, 2, 1_000]))
def test_every_change_is_read_exactly_once(plan: list[tuple[str, int, int]], small: int) -> None:
    """``small`` 0: the look-back is always searched lightly and late records read by
    id; 1,000: always re-read in full by one sweep; 2: either, read by read."""
    index = LaggingIndex()
    cursor: str | None = None
    read_pairs: list[tuple[datetime, str]] = []
    shown: set[tuple[datetime, str]] = set()

    def poll() -> None:
        nonlocal cursor
        shown.update((m, rid) for rid, m in index.visible().items())
        got, cursor = read(index, cursor, keep=1_000, small=small)
        read_pairs.extend(got)

    for kind, a, b in plan:
        if kind == "modify":
            index.modify(str(1000 + a), timedelta(milliseconds=b))
        elif kind == "wait":
            index.now += timedelta(milliseconds=a)
        else:
            index.now += timedelta(milliseconds=a)
            poll()
    index.now += WINDOW + timedelta(seconds=1)
    poll()
    poll()
    assert len(read_pairs) == len(set(read_pairs)), "a version was read twice"
    last: dict[str, datetime] = {}
    for m, rid in read_pairs:
        assert rid not in last or m > last[rid], "an older version read after a newer one"
        last[rid] = m
    missed = [(m, rid) for m, rid in shown if last.get(rid, m - MS) < m]
    assert missed == [], "a version search showed was never read (nor a newer one)"
    # Every record's final version is read in the end.
    assert {rid: vs[-1][0] for rid, vs in index.versions.items()} == last


def test_a_record_indexed_late_is_read_once_it_shows() -> None:
    index = LaggingIndex()
    index.modify("1001", timedelta(seconds=20))  # modified first, indexed last
    index.now += timedelta(seconds=1)
    index.modify("1002", timedelta(0))
    index.now += timedelta(seconds=1)
    first, cursor = read(index, None, keep=400)
    assert [rid for _, rid in first] == ["1002"]
    index.now += timedelta(seconds=20)
    second, cursor = read(index, cursor, keep=400)
    assert [rid for _, rid in second] == ["1001"]
    third, _ = read(index, cursor, keep=400)
    assert third == []


def test_the_look_back_rereads_at_most_keep_records_per_sweep() -> None:
    index = LaggingIndex()
    for number in range(60):  # all within the window, none late
        index.modify(str(1000 + number), timedelta(0))
        index.now += MS
    _, cursor = read(index, None, keep=9)
    before = index.searches
    again, cursor = read(index, cursor, keep=9)
    assert again == []
    # The 9 newest re-read; each page goes on from its last record (read again when
    # the next page starts), so 2 new a page; plus the main sweep's one page.
    assert index.searches - before <= -(-9 // (PAGE - 1)) + 1
    decoded = LookbackCursor.decode(cursor)
    assert len(decoded.seen) == 9


def test_an_unchanged_crm_costs_one_search_once_the_window_has_passed() -> None:
    index = LaggingIndex()
    for number in range(10):
        index.modify(str(1000 + number), timedelta(0))
    index.now += WINDOW * 2
    _, cursor = read(index, None, keep=400)
    index.modify("2000", timedelta(0))  # a change long after the others
    _, cursor = read(index, cursor, keep=400)
    before = index.searches
    assert read(index, cursor, keep=400)[0] == []
    assert index.searches - before == 1
    assert set(LookbackCursor.decode(cursor).seen) == {"2000"}


def read_writing(
    index: LaggingIndex, cursor: str | None, lag: timedelta, small: int = 50
) -> tuple[list[tuple[datetime, str]], str | None]:
    """One read during which every record of a page is written back once the page is
    handed on (as a cycle scoring and writing while it reads), ``lag`` to index."""
    got: list[tuple[datetime, str]] = []
    for fresh, position in read_pages(
        LookbackCursor.decode(cursor),
        index.search,
        light=index.search,
        fetch=index.current,
        window=WINDOW,
        keep=1_000,
        small=small,
    ):
        got.extend((m, rid) for m, rid, _ in fresh)
        cursor = position.encode()
        index.now += MS  # a write reaches the CRM after the answer that caused it
        for _, rid, _ in fresh:
            index.modify(rid, lag)
    return got, cursor


@settings(deadline=None)
@given(
    st.integers(1, 20),
    st.lists(st.integers(0, 5_000), max_size=8),
    st.integers(0, 40_000),
    st.sampled_from([0, 2, 1_000]),
)
def test_writes_during_a_read_are_left_to_the_next_read(
    population: int, earlier: list[int], lag_ms: int, small: int
) -> None:
    """Records written while the read goes on are not met again at its tail: each
    version is read once across reads, the first read reads the population once and
    the written versions are read by later ones, none lost."""
    index = LaggingIndex()
    for number in range(population):
        index.modify(str(1000 + number), timedelta(0))
        index.now += MS
    cursor: str | None = None
    pairs: list[tuple[datetime, str]] = []
    if earlier:
        # A cursor that already read the CRM, some records changed since.
        index.now += WINDOW
        pairs, cursor = read(index, None, keep=1_000, small=small)
        for number, late in enumerate(earlier):
            index.modify(str(1000 + number % population), timedelta(milliseconds=late))
        index.now += timedelta(milliseconds=max(earlier)) + MS
    first, cursor = read_writing(index, cursor, timedelta(milliseconds=lag_ms), small)
    ids = [rid for _, rid in first]
    assert len(ids) == len(set(ids)), "the read met its own writes again"
    if not earlier:
        assert len(ids) == population
    pairs.extend(first)
    index.now += timedelta(milliseconds=lag_ms) + WINDOW + timedelta(seconds=1)
    for _ in range(2):
        got, cursor = read(index, cursor, keep=1_000, small=small)
        pairs.extend(got)
    assert len(pairs) == len(set(pairs)), "a version was read twice"
    last: dict[str, datetime] = {}
    for m, rid in pairs:
        assert rid not in last or m > last[rid], "an older version read after a newer one"
        last[rid] = m
    assert {rid: vs[-1][0] for rid, vs in index.versions.items()} == last


def test_a_long_first_read_costs_one_search_more_and_no_echo() -> None:
    index = LaggingIndex()
    for number in range(10):  # 4 pages of 3
        index.modify(str(1000 + number), timedelta(0))
        index.now += MS
    first, cursor = read_writing(index, None, timedelta(0))
    assert sorted(rid for _, rid in first) == [str(1000 + n) for n in range(10)]
    assert index.searches == 4 + 1  # the pages and the newest-modification search
    before = index.searches
    second, _ = read(index, cursor, keep=1_000)
    # Our writes come back once, in the next read, as any change would.
    assert sorted(rid for _, rid in second) == [str(1000 + n) for n in range(10)]
    assert all(m > max(m0 for m0, _ in first) for m, _ in second)
    assert index.searches - before >= 1


def test_a_read_of_one_page_asks_for_no_bound() -> None:
    index = LaggingIndex()
    for number in range(PAGE - 1):
        index.modify(str(1000 + number), timedelta(0))
    read(index, None, keep=1_000)
    assert index.searches == 1
