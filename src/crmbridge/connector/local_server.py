"""An ASGI app served by uvicorn on a background thread: how sandboxes run in-process.

:class:`ThreadedServer` binds its socket itself, so ``port=0`` picks a free port and
:attr:`ThreadedServer.port` is known before any request; :meth:`ThreadedServer.start`
returns once uvicorn accepts connections. Given a certificate and key it serves TLS.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Literal

import uvicorn


class ThreadedServer:
    """uvicorn serving ``app`` on ``host:port`` from a daemon thread."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        lifespan: Literal["auto", "on", "off"] = "on",
        tls: tuple[Path, Path] | None = None,
        name: str = "sandbox",
        abrupt_stop: bool = False,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        self._lifespan = lifespan
        #: (certificate chain, key) PEM files, or None for plain HTTP.
        self._tls = tls
        self._name = name
        #: Stop without waiting for open connections (nor the app's lifespan shutdown):
        #: TLS keep-alive connections a client left open would hold a stop for seconds.
        self._abrupt_stop = abrupt_stop
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def running(self) -> bool:
        """Whether :meth:`start` ran and :meth:`stop` did not yet."""
        return self._thread is not None

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving and wait until uvicorn accepts connections."""
        if self._thread is not None:
            return
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are
        # TCP, and without it every answer on a kept-alive connection waits ~40 ms for
        # the client's delayed ACK (the headers and body go out as two writes).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = int(sock.getsockname()[1])
        self._socket = sock
        tls: dict[str, Any] = {}
        if self._tls is not None:
            tls = {"ssl_certfile": str(self._tls[0]), "ssl_keyfile": str(self._tls[1])}
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            lifespan=self._lifespan,
            # Clients may still hold idle keep-alive connections when a test stops it.
            timeout_graceful_shutdown=1,
            **tls,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self._name} server did not start")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = self._abrupt_stop
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None
