"""Running the sandbox over TLS: in-process for tests (:class:`SandboxServer`) or blocking
for the CLI (:func:`serve`, behind ``crmbridge sandbox --crm salesforce``).

The certificates are made at start in a temporary directory (:mod:`.tls`); the server
binds its socket itself, so ``port=0`` picks a free port and :attr:`SandboxServer.port`
is known before any request.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from crmbridge.connector.local_server import ThreadedServer
from crmbridge_salesforce.sandbox.admin import Admin
from crmbridge_salesforce.sandbox.app import create_app
from crmbridge_salesforce.sandbox.config import LATEST_API_VERSION, SandboxConfig
from crmbridge_salesforce.sandbox.faults import Faults
from crmbridge_salesforce.sandbox.pardot_state import BUSINESS_UNIT_ID
from crmbridge_salesforce.sandbox.pipeline import Services
from crmbridge_salesforce.sandbox.state import OrgState
from crmbridge_salesforce.sandbox.tls import LOCAL_NAMES, Certificates, make_certificates


class SandboxServer:
    """A Salesforce-compatible sandbox served over TLS on a background thread.

    >>> with SandboxServer() as server:          # doctest: +SKIP
    ...     session = requests.Session(); session.verify = str(server.ca_bundle)
    ...     Salesforce(instance_url=server.instance_url, session_id=..., session=session)
    """

    def __init__(
        self,
        state: OrgState | None = None,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path | None = None,
        certificates: Certificates | None = None,
        log_level: str = "warning",
    ) -> None:
        self.state = state if state is not None else OrgState()
        self.config = config if config is not None else SandboxConfig()
        self.host = host
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if certificates is None:
            if directory is None:
                self._tempdir = tempfile.TemporaryDirectory(prefix="crmbridge-sf-sandbox-")
                directory = Path(self._tempdir.name)
            certificates = make_certificates(directory)
        #: Made at start unless given (tests share one set: making keys takes a while).
        self.certificates = certificates
        self.app: Starlette = create_app(
            self.state, self.config, self.certificates.jwt_public_key, faults=Faults()
        )
        self.admin = Admin(self.services)
        self._server = ThreadedServer(
            self.app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="off",
            tls=(certificates.server_cert, certificates.server_key),
            name="Salesforce sandbox",
            abrupt_stop=True,
        )

    @property
    def services(self) -> Services:
        """Sessions, faults and the rest of the running app."""
        services: Services = self.app.state.sandbox
        return services

    @property
    def faults(self) -> Faults:
        """Fault injection (:class:`~.faults.Faults`)."""
        return self.services.faults

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return self._server.port

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:<port>``: the org's instance URL."""
        return f"https://{self.host}:{self.port}"

    @property
    def login_host(self) -> str:
        """``127.0.0.1:<port>``: where login calls go instead of login.salesforce.com."""
        return f"{self.host}:{self.port}"

    @property
    def ca_bundle(self) -> Path:
        """The CA certificate that verifies the sandbox's TLS certificate."""
        return self.certificates.ca_bundle

    @property
    def api_version(self) -> str:
        """The newest API version the sandbox answers."""
        return LATEST_API_VERSION

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind, start serving TLS and wait until uvicorn accepts connections."""
        self._server.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, wait for the thread and delete certificates made at start."""
        self._server.stop(timeout)
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def build(seed: str = "demo", *, rng_seed: int = 7) -> OrgState:
    """An org seeded with ``seed`` ("demo": ~200 leads; "empty": users only)."""
    from crmbridge_salesforce.sandbox.seed import SEEDS, seed_demo

    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; use one of {', '.join(SEEDS)}")
    state = OrgState()
    if seed == "demo":
        seed_demo(state, rng_seed=rng_seed)
    return state


def serve(
    port: int = 8765,
    seed: str = "demo",
    *,
    host: str = "127.0.0.1",
    session_id: str = "sandbox-token",
    fault_rate: float = 0.0,
    latency_ms: int = 0,
    log_level: str = "info",
) -> None:
    """Serve the sandbox over TLS until interrupted (Ctrl-C), after printing how to
    reach it. ``session_id`` is a fixed session the sandbox accepts (session-id mode)."""
    state = build(seed)
    config = SandboxConfig(static_session=session_id)
    with tempfile.TemporaryDirectory(prefix="crmbridge-sf-sandbox-") as directory:
        # Served beyond loopback (a container): the certificate also names the host and
        # compose's service name, so clients elsewhere can verify it.
        extra = () if host in LOCAL_NAMES else tuple(n for n in (host, "sandbox") if n != "0.0.0.0")
        certificates = make_certificates(Path(directory), extra)
        faults = Faults()
        faults.rate = fault_rate
        faults.latency = latency_ms / 1000
        app = create_app(state, config, certificates.jwt_public_key, faults=faults)
        url = f"https://{host}:{port}"
        leads = len(state.records["Lead"])
        print(
            f"crmbridge sandbox (Salesforce-compatible) on {url}  ({leads} leads)\n"
            f"  trust its certificate: CA bundle {certificates.ca_bundle}\n"
            f"  session-id mode: instance_url {url}, session id {session_id}\n"
            f"  password login: username {config.username}, password {config.password},"
            f" security token {config.security_token} (login host {host}:{port})\n"
            f"  JWT bearer: consumer key {config.consumer_key},"
            f" private key {certificates.jwt_private_key}\n"
            f"  client credentials: client id {config.client_id},"
            f" client secret {config.client_secret}\n"
            f"  Account Engagement (Pardot) v5: base_url {url},"
            f" business_unit_id {BUSINESS_UNIT_ID}\n"
            f"  admin: {url}/_sandbox/log (requests), POST {url}/_sandbox/faults"
            f" (API version {LATEST_API_VERSION} and older)",
            flush=True,
        )
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            ssl_certfile=str(certificates.server_cert),
            ssl_keyfile=str(certificates.server_key),
        )
