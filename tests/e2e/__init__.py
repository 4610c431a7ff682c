"""End-to-end tests: processes (daemon, CLI, crash-kill trials), deploy files, documented
snippets, the demo."""
