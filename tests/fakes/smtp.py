"""A real SMTP relay on 127.0.0.1 (aiosmtpd): STARTTLS or implicit TLS with a certificate of
its own, AUTH (refused on a connection without TLS, as RFC 4954 advises), recipients refused
one by one, a connection dropped in the middle of DATA, and a count of every connection, AUTH
attempt and message.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "relay-user"
PASSWORD = "relay-password-9f8e7d"


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "relay.crt", folder / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Relay:
    """What the relay saw, and its switches."""

    refuse: set[str] = field(default_factory=set)
    drop_at: int | None = None  # the Nth DATA (1-based) is read, then the connection drops
    messages: list[EmailMessage] = field(default_factory=list)
    auth_attempts: list[bool] = field(default_factory=list)  # was TLS on?
    connections: int = 0
    datas: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.datas += 1
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        if self.drop_at is not None and self.datas == self.drop_at:
            server.transport.close()  # taken, and the answer never comes
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.auth_attempts.append(session.ssl is not None)
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        )
        return AuthResult(success=ok)


class RelayServer(Controller):  # type: ignore[misc]
    """The relay in a thread: ``tls`` is "starttls", "tls" (implicit) or "none"."""

    def __init__(self, relay: Relay, port: int, folder: Path, tls: str = "starttls") -> None:
        self.relay = relay
        self.tls = tls
        self.cert, key = certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self._context = context
        kwargs: dict[str, Any] = {}
        if tls == "tls":
            kwargs["ssl_context"] = context
        super().__init__(relay, hostname="127.0.0.1", port=port, **kwargs)

    def start(self) -> None:
        super().start()
        self.relay.connections = 0  # the controller's own check that the server is up

    def factory(self) -> SMTP:
        self.relay.connections += 1  # one SMTP instance per connection
        return SMTP(
            self.handler,
            hostname="relay.test",
            tls_context=self._context if self.tls == "starttls" else None,
            authenticator=self.relay.authenticate,
            auth_require_tls=False,  # we record attempts without TLS instead of refusing them
            auth_required=False,
        )
