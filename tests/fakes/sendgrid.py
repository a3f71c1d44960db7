"""SendGrid's v3 /mail/send, as documented: Bearer key, personalizations with substitutions, 202.

https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send: at most 1,000
personalizations and 1,000 recipients a request, 30 MB a request; ``from`` with an email;
``content`` with text/plain first; ``reply_to`` an object with an email; ``headers`` (top level
or per personalization) may not set the headers SendGrid sets itself (Reply-To, From, To,
Subject, Content-Type, CC, BCC, DKIM-Signature, x-sg-id, …): 400; header values and
``custom_args`` values are strings; substitutions at most 10,000 bytes a personalization.
"""

from __future__ import annotations

import uuid

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request


def _substitute(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


RESERVED = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}


def header_errors(headers: object, field: str) -> list[dict[str, str]]:
    if headers is None:
        return []
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return [{"message": "Headers must be an object of strings.", "field": field}]
    return [
        {"message": f"The '{name}' header is reserved and may not be set.", "field": field}
        for name in headers
        if name.lower() in RESERVED
    ]


class SendGridFake(Fake):
    name = "sendgrid"
    max_body = 30 * 1024 * 1024

    def route(self, request: Request) -> Answer | object:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer(
                401,
                {
                    "errors": [
                        {
                            "message": "The provided authorization grant is invalid, expired, or revoked",
                            "field": None,
                        }
                    ]
                },
            )
        if request.method == "GET" and request.path == "/v3/scopes":
            return Answer(200, {"scopes": ["mail.send"]})
        if request.method != "POST" or request.path != "/v3/mail/send":
            return Answer(404, {"errors": [{"message": "not found"}]})
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Answer(
                415, {"errors": [{"message": "Content-Type should be application/json."}]}
            )
        body = request.json()
        errors = []
        personalizations = body.get("personalizations") or []
        if not 1 <= len(personalizations) <= 1000:
            errors.append(
                {
                    "message": "The personalizations field is required and must have at least one personalization.",
                    "field": "personalizations",
                }
            )
        if sum(len(p.get("to") or []) for p in personalizations) > 1000:
            errors.append({"message": "too many recipients", "field": "personalizations"})
        if not (body.get("from") or {}).get("email"):
            errors.append(
                {
                    "message": "The from object must be provided for every email send.",
                    "field": "from",
                }
            )
        content = {c["type"]: c["value"] for c in body.get("content") or []}
        if [c["type"] for c in body.get("content") or []][:1] != ["text/plain"]:
            errors.append({"message": "If present, text/plain must be first.", "field": "content"})
        if not body.get("subject") and not all(p.get("subject") for p in personalizations):
            errors.append({"message": "The subject is required.", "field": "subject"})
        errors += header_errors(body.get("headers"), "headers")
        for i, p in enumerate(personalizations):
            errors += header_errors(p.get("headers"), f"personalizations.{i}.headers")
            subs = p.get("substitutions") or {}
            if len(str(subs).encode()) > 10_000:
                errors.append(
                    {
                        "message": "Substitutions may total 10,000 bytes.",
                        "field": f"personalizations.{i}.substitutions",
                    }
                )
            if not all(isinstance(v, str) for v in (p.get("custom_args") or {}).values()):
                errors.append(
                    {
                        "message": "custom_args values must be strings.",
                        "field": f"personalizations.{i}.custom_args",
                    }
                )
        reply_to = body.get("reply_to")
        if reply_to is not None and not (isinstance(reply_to, dict) and reply_to.get("email")):
            errors.append({"message": "The reply_to email is required.", "field": "reply_to"})
        if errors:
            return Answer(400, {"errors": errors})
        taken = []
        for p in personalizations:
            subs = p.get("substitutions") or {}
            for to in p["to"]:
                if to["email"] in self.reject:
                    continue  # SendGrid drops it later and says so in the event webhook
                headers = {**(body.get("headers") or {}), **(p.get("headers") or {})}
                headers["From"] = body["from"]["email"]
                if reply_to:
                    headers["Reply-To"] = reply_to["email"]
                taken.append(
                    Accepted(
                        to["email"],
                        p.get("subject") or body["subject"],
                        _substitute(content.get("text/html", ""), subs),
                        _substitute(content.get("text/plain", ""), subs),
                        headers,
                    )
                )
        if self.take(taken) is DROP:
            return DROP
        return Answer(202, None, {"X-Message-Id": uuid.uuid4().hex})
