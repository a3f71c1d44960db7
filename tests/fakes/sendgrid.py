"""SendGrid's v3 /mail/send, as documented: Bearer key, personalizations with substitutions, 202."""

from __future__ import annotations

import uuid

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request


def _substitute(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


class SendGridFake(Fake):
    name = "sendgrid"

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
        if errors:
            return Answer(400, {"errors": errors})
        taken = []
        for p in personalizations:
            subs = p.get("substitutions") or {}
            for to in p["to"]:
                if to["email"] in self.reject:
                    continue  # SendGrid drops it later and says so in the event webhook
                taken.append(
                    Accepted(
                        to["email"],
                        p.get("subject") or body["subject"],
                        _substitute(content.get("text/html", ""), subs),
                        _substitute(content.get("text/plain", ""), subs),
                        {**(body.get("headers") or {}), **(p.get("headers") or {})},
                    )
                )
        if self.take(taken) is DROP:
            return DROP
        return Answer(202, None, {"X-Message-Id": uuid.uuid4().hex})
