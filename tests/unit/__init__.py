"""Unit tests: pure and fast, no network, database or subprocess."""
