"""SES notifications through SNS: every message's RSA signature is checked against the signing
certificate, which must come over HTTPS from an ``sns.<region>.amazonaws.com`` host (cached).

SubscriptionConfirmation is confirmed by fetching its SubscribeURL (also an AWS host).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newsletter.errors import InputError
from newsletter.webhooks import Event, Unauthorized

Fetch = Callable[[str], bytes]
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_FIELDS = {  # the fields each message type signs, in the documented order
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION,
    "UnsubscribeConfirmation": _CONFIRMATION,
}


def aws_url(url: str) -> bool:
    """An HTTPS URL on an SNS host: the only place a certificate or a confirmation may come from."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(_SNS_HOST.match(parts.hostname or ""))


def message(body: bytes) -> dict[str, Any]:
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise InputError("ses: the body is not JSON") from None
    if not isinstance(data, dict) or data.get("Type") not in _FIELDS:
        raise InputError("ses: not an SNS message (Type missing or unknown)")
    return data


def verify(
    headers: Mapping[str, str], body: bytes, fetch: Fetch, cache: dict[str, x509.Certificate]
) -> None:
    data = message(body)
    url = str(data.get("SigningCertURL", ""))
    if not aws_url(url):
        raise Unauthorized("ses: the signing certificate is not on an SNS host over HTTPS")
    if url not in cache:
        try:
            cache[url] = x509.load_pem_x509_certificate(fetch(url))
        except ValueError:
            raise Unauthorized("ses: the signing certificate could not be read") from None
    key = cache[url].public_key()
    version = str(data.get("SignatureVersion", ""))
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)  # noqa: S303 (SNS v1 is SHA1)
    if algorithm is None or not isinstance(key, rsa.RSAPublicKey):
        raise Unauthorized("ses: unknown SignatureVersion")
    canonical = "".join(f"{k}\n{data[k]}\n" for k in _FIELDS[data["Type"]] if k in data)
    try:
        signature = base64.b64decode(str(data.get("Signature", "")), validate=True)
        key.verify(signature, canonical.encode(), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, binascii.Error):
        raise Unauthorized("ses: bad signature") from None


def parse(body: bytes) -> list[Event]:
    data = message(body)
    if data["Type"] != "Notification":
        return []
    try:
        note: Any = json.loads(data["Message"])
    except (ValueError, KeyError):
        raise InputError("ses: the notification's Message is not JSON") from None
    kind = str(note.get("notificationType") or note.get("eventType") or "")
    mail_id = (note.get("mail") or {}).get("messageId")
    events = []
    if kind == "Bounce":
        bounce = note.get("bounce") or {}
        ours = "bounced" if bounce.get("bounceType") == "Permanent" else "soft_bounce"
        for r in bounce.get("bouncedRecipients") or []:
            events.append(
                Event(
                    f"{data['MessageId']}:{r.get('emailAddress')}",
                    ours,
                    str(r.get("emailAddress", "")),
                    mail_id,
                    note,
                )
            )
    elif kind == "Complaint":
        for r in (note.get("complaint") or {}).get("complainedRecipients") or []:
            events.append(
                Event(
                    f"{data['MessageId']}:{r.get('emailAddress')}",
                    "complained",
                    str(r.get("emailAddress", "")),
                    mail_id,
                    note,
                )
            )
    else:
        events.append(Event(str(data["MessageId"]), kind.lower() or "other", "", mail_id, note))
    return events


def subscribe_url(body: bytes) -> str | None:
    """For a SubscriptionConfirmation: the URL that confirms it (an AWS host only)."""
    data = message(body)
    url = str(data.get("SubscribeURL", ""))
    if data["Type"] == "SubscriptionConfirmation" and aws_url(url):
        return url
    return None
