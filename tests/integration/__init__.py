"""Integration tests: the store on SQLite and Postgres, ingestion, outbox, pipeline, and by
feature (daemon HTTP side, hand-off, profiling, controls, CLI in process, reliability fuzz)."""
