"""The certificates the sandbox makes at start."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509

from crmbridge_salesforce.sandbox.tls import make_certificates


def test_the_server_certificate_names_local_hosts_and_extra_names(tmp_path: Path) -> None:
    made = make_certificates(tmp_path, ("sandbox",))
    cert = x509.load_pem_x509_certificate(made.server_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"localhost", "sandbox"}
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    # The key matches the certificate (every TLS test verifies the chain against the CA
    # bundle); private keys are readable by their owner only.
    context = ssl.create_default_context(cafile=str(made.ca_bundle))
    context.load_cert_chain(made.server_cert, made.server_key)
    assert made.jwt_private_key.stat().st_mode & 0o077 == 0
    assert b"PUBLIC KEY" in made.jwt_public_key
