"""The long-running daemon: scheduler, HTTP app (webhooks, events, health, metrics)."""
