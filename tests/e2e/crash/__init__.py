"""Crash-kill trials: a worker process killed at random moments, then restarted."""
