"""Persistent state: contacts, events, scores, outbox, cursors and run history."""
