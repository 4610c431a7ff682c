"""Integration tests: the store on SQLite and Postgres, ingestion, outbox, pipeline, crashes."""
