"""``crmbridge_rescore_outdated`` counts the outdated contacts in the store, and keeps
the count between scrapes (it reads the whole scores table) for ``refresh_s``."""

from __future__ import annotations

from benchmarks.outdated_gauge import NEW, fill
from crmbridge.daemon.metrics import OutdatedCollector
from crmbridge.store.repository import Store


def scraped(collector: OutdatedCollector) -> float:
    [family] = collector.collect()
    return float(family.samples[0].value)


def test_the_count_is_kept_between_scrapes_until_it_is_due_again(sqlite_store: Store) -> None:
    fill(sqlite_store, 10)
    kept = OutdatedCollector(sqlite_store, NEW, refresh_s=3600)
    every_time = OutdatedCollector(sqlite_store, NEW, refresh_s=0)
    assert scraped(kept) == scraped(every_time) == 5

    fill(sqlite_store, 10, first=11)

    assert scraped(kept) == 5
    assert scraped(every_time) == 10
    kept.refresh_s = 0
    assert scraped(kept) == 10


def test_a_failed_count_serves_the_last_one(sqlite_store: Store) -> None:
    fill(sqlite_store, 4)
    collector = OutdatedCollector(sqlite_store, NEW, refresh_s=0)
    assert scraped(collector) == 2
    with sqlite_store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE scores")

    assert scraped(collector) == 2
    [never_counted] = OutdatedCollector(sqlite_store, NEW).collect()
    assert never_counted.samples == []
