"""Every controls test leaves logging as it found it (shared with integration/controls)."""

from tests.integration.controls.conftest import _restore_logging  # noqa: F401
