"""The sandbox's settings: credentials it accepts, limits, sessions and query batching."""

from __future__ import annotations

from dataclasses import dataclass

#: The newest API version the sandbox answers (older ones down to 31.0 work too).
LATEST_API_VERSION = "62.0"
OLDEST_API_VERSION = "31.0"


@dataclass
class SandboxConfig:
    """What the sandbox accepts and how strict it is; change fields on a running sandbox.

    The credentials are the sandbox's own, never a real account's.
    """

    username: str = "integration@sandbox.example"
    password: str = "sandbox-password"
    security_token: str = "sandboxtoken"
    #: The connected app of the JWT bearer and client-credentials flows.
    consumer_key: str = "sandbox-consumer-key"
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    #: A fixed session id the sandbox also accepts (session-id mode, the CLI).
    static_session: str | None = None
    #: Seconds a session lives after its last use (Salesforce: 2 h by default).
    session_seconds: float = 7200.0
    #: API calls per rolling day before 403 REQUEST_LIMIT_EXCEEDED (Developer Edition).
    daily_limit: int = 15_000
    #: Query batch size when the client asks none (Salesforce: 2,000, not guaranteed).
    default_batch_size: int = 2000
    #: Open query cursors per user; opening more drops the oldest, as Salesforce does.
    max_cursors: int = 10
    #: How many polls a closed Bulk 2.0 job reports InProgress before JobComplete.
    bulk_polls_in_progress: int = 1
    #: A request running this long counts as long (Salesforce: 20 s) ...
    long_request_seconds: float = 20.0
    #: ... and this many long ones at once refuse every further request with 403
    #: REQUEST_LIMIT_EXCEEDED (Salesforce: 25 in production, 5 in Developer Edition).
    max_long_requests: int = 25
    #: Largest batch actually answered, whatever is asked (Salesforce may answer less).
    batch_cap: int = 2000
