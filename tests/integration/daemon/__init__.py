"""The daemon's HTTP side: webhooks, event intake, health, readiness, metrics."""
