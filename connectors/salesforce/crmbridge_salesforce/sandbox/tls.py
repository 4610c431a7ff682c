"""Certificates made at start: a local CA, the server's certificate, the JWT signing key.

simple-salesforce always builds ``https://`` URLs, so the sandbox serves TLS with a
certificate for ``127.0.0.1`` and ``localhost`` issued by a throw-away CA (trustme);
clients trust it through :attr:`Certificates.ca_bundle`. The connected app's RSA key
pair signs and verifies JWT bearer assertions: the private key is written for the
client, the public key stays with the sandbox. Nothing here is ever a real secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True, slots=True)
class Certificates:
    """Files of one sandbox run: paths of PEM files in ``directory``."""

    directory: Path
    #: The CA certificate clients trust (``requests.Session().verify = ca_bundle``).
    ca_bundle: Path
    #: The server's certificate chain and its key.
    server_cert: Path
    server_key: Path
    #: The connected app's private key (for the client's JWT) and public key (sandbox).
    jwt_private_key: Path
    jwt_public_key: bytes


#: Names the server certificate always covers.
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


def make_certificates(directory: Path, extra_names: tuple[str, ...] = ()) -> Certificates:
    """Create a CA, a server certificate for 127.0.0.1/localhost (and ``extra_names``,
    e.g. a container's service name) and a JWT key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="crmbridge Salesforce sandbox")
    names = tuple(dict.fromkeys((*LOCAL_NAMES, *extra_names)))
    server = ca.issue_cert(*names)
    ca_bundle = directory / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    server_cert = directory / "sandbox-server.pem"
    for index, blob in enumerate(server.cert_chain_pems):
        blob.write_to_path(str(server_cert), append=index > 0)
    server_key = directory / "sandbox-server.key"
    server.private_key_pem.write_to_path(str(server_key))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwt_private_key = directory / "sandbox-jwt.key"
    jwt_private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for path in (server_key, jwt_private_key):
        path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Certificates(directory, ca_bundle, server_cert, server_key, jwt_private_key, public)
