"""Calling the webhook endpoints as each provider does: its secret, its signature, its body.

``Hooks`` starts the app for one provider with that provider's kind of secret, records every
outbound fetch the app makes (the SNS certificate and subscription URLs), and signs what it
sends the way the provider signs (SNS with a certificate made here).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from starlette.testclient import TestClient

from newsletter.web import create_app
from tests.conftest import Project

HOOK_SECRET = "hook-secret-0123456789"
RESEND_KEY = b"0123456789abcdef0123456789abcdef"
TOPIC = "arn:aws:sns:us-east-1:123456789012:newsletter-ses"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem"
SUBSCRIBE_URL = (
    f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=abc"
)
_SNS_SIGNED = (
    "Message",
    "MessageId",
    "Subject",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)


def _sns_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


SNS_KEY, SNS_PEM = _sns_certificate()
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())


def secret_for(provider: str) -> str:
    """NEWSLETTER_WEBHOOK_SECRET as that provider's settings page gives it."""
    if provider == "sendgrid":
        der = SENDGRID_KEY.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()
    if provider == "resend":
        return "whsec_" + base64.b64encode(RESEND_KEY).decode()
    return HOOK_SECRET


def auth_headers(provider: str, body: bytes) -> dict[str, str]:
    """The headers that prove ``body`` comes from the provider (none where the proof is inside)."""
    stamp = str(int(time.time()))
    if provider == "postmark":
        return {"authorization": "Basic " + base64.b64encode(f"pm:{HOOK_SECRET}".encode()).decode()}
    if provider == "sendgrid":
        signature = SENDGRID_KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "x-twilio-email-event-webhook-signature": base64.b64encode(signature).decode(),
            "x-twilio-email-event-webhook-timestamp": stamp,
        }
    if provider == "resend":
        digest = hmac.new(RESEND_KEY, f"msg_1.{stamp}.".encode() + body, hashlib.sha256).digest()
        return {
            "svix-id": "msg_1",
            "svix-timestamp": stamp,
            "svix-signature": "v1," + base64.b64encode(digest).decode(),
        }
    return {}


def mailgun_body(
    event: Any, nonce: str = "", stamp: int | None = None, key: str = HOOK_SECRET
) -> bytes:
    """A Mailgun call: ``event`` as event-data, signed with ``key`` (``nonce`` is its token,
    a new one unless given)."""
    nonce = nonce or secrets.token_hex(8)
    stamp = int(time.time()) if stamp is None else stamp
    signature = hmac.new(key.encode(), f"{stamp}{nonce}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": str(stamp), "token": nonce, "signature": signature},
            "event-data": event,
        }
    ).encode()


def sns_message(kind: str, version: str = "2", **fields: str) -> bytes:
    """An SNS message signed with the test certificate (``fields`` override the defaults)."""
    data = {
        "Type": kind,
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Message": "{}",
        "Timestamp": "2026-11-24T14:00:00.000Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
        **({"SubscribeURL": SUBSCRIBE_URL, "Token": "abc"} if kind != "Notification" else {}),
        **fields,
    }
    canonical = "".join(f"{k}\n{data[k]}\n" for k in _SNS_SIGNED if k in data)
    algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 (SNS v1)
    data["Signature"] = base64.b64encode(
        SNS_KEY.sign(canonical.encode(), padding.PKCS1v15(), algorithm)
    ).decode()
    return json.dumps(data).encode()


def ses_bounce(address: str, bounce_type: str = "Permanent") -> str:
    """The Message of an SES bounce notification."""
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bouncedRecipients": [{"emailAddress": address}],
            },
            "mail": {"messageId": "ses-9"},
        }
    )


@dataclass
class Hooks:
    """A running app that takes one provider's webhooks, and what it fetched."""

    client: TestClient
    provider: str
    fetched: list[str] = field(default_factory=list)

    def post(self, body: bytes, signed: bool = True, **headers: str) -> Any:
        """POST ``body`` to the provider's endpoint, with valid auth headers unless ``signed`` is False."""
        sent = {"content-type": "application/json"}
        if signed:
            sent.update(auth_headers(self.provider, body))
        sent.update(headers)
        return self.client.post(f"/webhooks/{self.provider}", content=body, headers=sent)


@contextmanager
def hooks_for(project: Project, provider: str, topic: str | None = TOPIC) -> Iterator[Hooks]:
    """The app with ``provider``'s secret (and the SNS topic) configured; fetches recorded."""
    project.env["NEWSLETTER_WEBHOOK_SECRET"] = secret_for(provider)
    if topic is not None:
        project.env["NEWSLETTER_WEBHOOKS_SES_TOPIC_ARN"] = topic
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return SNS_PEM if url.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"

    app = create_app(project.settings, project.engine, fetch=fetch)
    with TestClient(app, base_url="https://tips.example.com") as client:
        yield Hooks(client, provider, fetched)


def everything(project: Project) -> dict[str, list[dict[str, Any]]]:
    """Every row a webhook could change."""
    return {**project.snapshot(), "suppressions": project.rows("suppressions")}
