"""A small SMTP server on a local port (plain SMTP, no TLS) that keeps what it receives,
for the weekly report's e-mail. It speaks enough of RFC 5321 for ``smtplib``: EHLO/HELO,
MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT, and AUTH PLAIN against ``login``
when it is set (the only mechanism it offers); ``refuse_data`` answers DATA with 554."""

from __future__ import annotations

import base64
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from types import TracebackType


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message


@dataclass
class SmtpServer:
    refuse_data: bool = False
    #: (user, password) this server accepts; None: no AUTH offered.
    login: tuple[str, str] | None = None
    authenticated: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def __enter__(self) -> SmtpServer:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                sender, recipients = "", []
                while raw := self.rfile.readline():
                    command = raw.decode().strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        if owner.login is not None and verb == "EHLO":
                            self.reply("250-localhost")
                            self.reply("250 AUTH PLAIN")
                        else:
                            self.reply("250 localhost")
                    elif verb == "AUTH":
                        self.authenticate(command)
                    elif verb == "MAIL":
                        sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        if owner.refuse_data:
                            self.reply("554 rejected")
                            continue
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (line := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(line[1:] if line.startswith(b"..") else line)
                        message = message_from_bytes(b"".join(lines), policy=default)
                        owner.received.append(Received(sender, recipients, message))
                        self.reply("250 queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

            def authenticate(self, command: str) -> None:
                parts = command.split()
                if owner.login is None or len(parts) < 2 or parts[1].upper() != "PLAIN":
                    self.reply("504 mechanism not supported")
                    return
                if len(parts) == 2:
                    self.reply("334 ")
                    encoded = self.rfile.readline().decode().strip()
                else:
                    encoded = parts[2]
                _, user, password = base64.b64decode(encoded).decode().split("\0")
                if (user, password) == owner.login:
                    owner.authenticated.append(user)
                    self.reply("235 authenticated")
                else:
                    self.reply("535 authentication failed")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
