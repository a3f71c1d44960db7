"""SES notifications through SNS, believed only for the configured topics.

SNS has no shared secret: a message proves itself with an RSA signature made with the
certificate at its ``SigningCertURL``. Anyone can create an SNS topic and point it here, so the
message's ``TopicArn`` must be one of ``[webhooks] ses_topic_arn`` (nothing is believed while
that is empty). ``read`` makes every check that costs nothing (JSON shape, field types,
``Type``, topic, signature version, the certificate's and the confirmation's URL, the
timestamp's form); only a message that passes them reaches ``verify``, which may fetch the
certificate (HTTPS from ``sns.<the topic's region>.amazonaws.com`` only; cached, and at most a
few fetches a minute). A SubscriptionConfirmation for our topic is confirmed by fetching its
SubscribeURL after its signature is verified; one for any other topic is refused unfetched.

No freshness window on ``Timestamp``: SNS retries a delivery for as long as its delivery
policy says, and a replayed notification changes nothing (events are stored once by id).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newsletter.errors import ConfigError, InputError
from newsletter.webhooks import Event, Unauthorized, Unreachable, body

Fetch = Callable[[str], bytes]
WHAT = "ses"
_SNS_HOST = re.compile(r"^sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED = {  # the fields each message type signs, in the documented order
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION,
    "UnsubscribeConfirmation": _CONFIRMATION,
}
_ALGORITHMS = {"1": hashes.SHA1, "2": hashes.SHA256}  # SNS version 1 signs SHA1withRSA


@dataclass(frozen=True)
class SnsMessage:
    """An SNS message that passed the cheap checks (its signature not yet verified)."""

    type: str
    topic_arn: str
    message_id: str
    message: str
    signed_text: bytes
    signature: bytes
    version: str
    certificate_url: str
    subscribe_url: str | None


def read(raw: bytes, topics: tuple[str, ...]) -> SnsMessage:
    """Every check that needs no network, in order of cost; refuses before anything is fetched."""
    if not topics:
        raise ConfigError(
            "[webhooks] ses_topic_arn is not set: SES events are refused until it names "
            "the SNS topic they come from (arn:aws:sns:<region>:<account>:<topic>)"
        )
    kind, fields = _fields(body.obj(body.loads(raw, WHAT), f"{WHAT}: the body"))
    topic, version = fields["TopicArn"], fields["SignatureVersion"]
    if topic not in topics:
        raise Unauthorized(f"ses: topic {topic!r} is not one of [webhooks] ses_topic_arn")
    if version not in _ALGORITHMS:
        raise Unauthorized(f"ses: unknown SignatureVersion {version!r}")
    region = topic.split(":")[3]
    certificate_url = fields["SigningCertURL"]
    if not sns_url(certificate_url, region) or not urlsplit(certificate_url).path.endswith(".pem"):
        raise Unauthorized("ses: the signing certificate is not a .pem on the topic's SNS host")
    subscribe_url = fields["SubscribeURL"] if kind == "SubscriptionConfirmation" else None
    if subscribe_url is not None and not _confirmation_url(subscribe_url, region):
        raise Unauthorized("ses: the SubscribeURL is not a ConfirmSubscription on the SNS host")
    try:
        signature = base64.b64decode(fields["Signature"], validate=True)
    except binascii.Error:
        raise Unauthorized("ses: the signature is not base64") from None
    signed_text = "".join(f"{k}\n{fields[k]}\n" for k in _SIGNED[kind] if k in fields)
    return SnsMessage(
        kind,
        topic,
        fields["MessageId"],
        fields["Message"],
        signed_text.encode(),
        signature,
        version,
        certificate_url,
        subscribe_url,
    )


def _fields(data: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The message's type and its string fields: every one its type requires, or a 400."""
    kind = data.get("Type")
    if not isinstance(kind, str) or kind not in _SIGNED:
        raise InputError("ses: not an SNS message (Type missing or unknown)")
    required = [k for k in _SIGNED[kind] if k != "Subject"]
    required += ["SignatureVersion", "Signature", "SigningCertURL"]
    fields = {k: body.text(data, k, WHAT) for k in required}
    subject = body.optional_text(data, "Subject", WHAT)
    if subject is not None and kind == "Notification":
        fields["Subject"] = subject  # signed only when present
    _timestamp(fields["Timestamp"])
    return kind, fields


def sns_url(url: str, region: str) -> bool:
    """An HTTPS URL on the SNS host of ``region``, without credentials, port or fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = _SNS_HOST.match(parts.hostname or "")
    return (
        parts.scheme == "https"
        and host is not None
        and host.group(1) == region
        and parts.username is None
        and port is None
        and not parts.fragment
    )


def _confirmation_url(url: str, region: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return sns_url(url, region) and query.get("Action") == ["ConfirmSubscription"]


def _timestamp(value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("ses: Timestamp is not an ISO 8601 time") from None


class Certificates:
    """Signing certificates by URL, fetched once each; at most ``per_minute`` fetches a minute
    (a burst of messages naming new certificate URLs cannot make us a fetching machine)."""

    def __init__(self, fetch: Fetch, per_minute: int = 10, size: int = 32) -> None:
        self._fetch = fetch
        self._known: dict[str, rsa.RSAPublicKey] = {}
        self._fetches: list[float] = []
        self._per_minute = per_minute
        self._size = size
        self._lock = threading.Lock()

    def key(self, url: str) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at ``url`` (checked by ``read`` first)."""
        with self._lock:
            if url in self._known:
                return self._known[url]
            now = time.monotonic()
            self._fetches = [t for t in self._fetches if now - t < 60]
            if len(self._fetches) >= self._per_minute:
                raise Unreachable("ses: too many signing-certificate fetches; try again later")
            self._fetches.append(now)
        try:
            pem = self._fetch(url)
        except OSError as exc:
            raise Unreachable(f"ses: could not fetch the signing certificate: {exc}") from exc
        try:
            key = x509.load_pem_x509_certificate(pem).public_key()
        except ValueError:
            raise Unauthorized("ses: the signing certificate could not be read") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise Unauthorized("ses: the signing certificate has no RSA key")
        with self._lock:
            if len(self._known) >= self._size:
                self._known.pop(next(iter(self._known)))
            self._known[url] = key
        return key


def verify(message: SnsMessage, certificates: Certificates) -> None:
    """Check the signature with the certificate it names (fetched the first time)."""
    key = certificates.key(message.certificate_url)
    try:
        key.verify(
            message.signature,
            message.signed_text,
            padding.PKCS1v15(),
            _ALGORITHMS[message.version](),
        )
    except InvalidSignature:
        raise Unauthorized("ses: bad signature") from None


def parse(message: SnsMessage) -> list[Event]:
    """The bounces and complaints in a verified Notification (nothing for confirmations)."""
    if message.type != "Notification":
        return []
    what = "ses: the notification's Message"
    note = body.obj(body.loads(message.message.encode(), what), what)
    kind = body.optional_text(note, "notificationType", what) or body.optional_text(
        note, "eventType", what
    )
    mail = body.section(note, "mail", what)
    mail_id = body.optional_text(mail, "messageId", what)
    if kind == "Bounce":
        bounce = body.section(note, "bounce", what)
        ours = "bounced" if bounce.get("bounceType") == "Permanent" else "soft_bounce"
        found = _recipients(bounce, "bouncedRecipients", what)
    elif kind == "Complaint":
        complaint = body.section(note, "complaint", what)
        ours, found = "complained", _recipients(complaint, "complainedRecipients", what)
    else:
        return [Event(message.message_id, (kind or "other").lower(), "", mail_id, note)]
    return [Event(f"{message.message_id}:{a}", ours, a, mail_id, note) for a in found]


def _recipients(section: dict[str, Any], key: str, what: str) -> list[str]:
    listed = section.get(key)
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise InputError(f"{what}: {key} must be a list")
    return [body.text(body.obj(r, f"{what}: {key}"), "emailAddress", what) for r in listed]
