"""Postmark's /email/batch, as documented: token header, JSON array of up to 500, per-message results.

https://postmarkapp.com/developer/api/email-api#send-batch-emails and
https://postmarkapp.com/support/article/1056-what-are-the-attachment-and-email-size-limits:
500 messages and 50 MB a call; HtmlBody and TextBody up to 5 MB each, 10 MB a message; at most
50 recipients a message; Headers a list of {Name, Value}; Metadata string values (at most 10
fields, names up to 20 characters, values up to 80); TrackLinks one of None, HtmlAndText,
HtmlOnly, TextOnly. A message that breaks a rule is refused alone (ErrorCode 300), as Postmark's
batch answers per message; a Reply-To given both as the field and as a header is refused too.
"""

from __future__ import annotations

import uuid

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request

MB = 1024 * 1024
TRACK_LINKS = {"None", "HtmlAndText", "HtmlOnly", "TextOnly"}


def problem(m: object) -> str | None:
    """Why Postmark would refuse this message (ErrorCode 300), or None."""
    if not isinstance(m, dict):
        return "a message must be an object"
    missing = [k for k in ("From", "To", "Subject") if not m.get(k)]
    if missing or not (m.get("HtmlBody") or m.get("TextBody")):
        return f"missing {missing or 'HtmlBody or TextBody'}"
    for key in ("From", "To", "Subject", "HtmlBody", "TextBody", "ReplyTo", "Tag"):
        if key in m and not isinstance(m[key], str):
            return f"'{key}' must be a string"
    sizes = [len(m.get(k, "")) for k in ("HtmlBody", "TextBody")]  # characters: a lower bound
    if max(sizes) > 5 * MB:
        return "HtmlBody and TextBody may be 5 MB each"
    if sum(sizes) > 10 * MB:
        return "a message may be 10 MB in all"
    if len(m["To"].split(",")) > 50:
        return "at most 50 recipients"
    headers = m.get("Headers", [])
    if not isinstance(headers, list) or not all(
        isinstance(h, dict)
        and set(h) == {"Name", "Value"}
        and all(isinstance(v, str) for v in h.values())
        for h in headers
    ):
        return "Headers must be a list of {Name, Value} strings"
    if "ReplyTo" in m and any(h["Name"].lower() == "reply-to" for h in headers):
        return "Reply-To given twice (the ReplyTo field and a header)"
    metadata = m.get("Metadata", {})
    if (
        not isinstance(metadata, dict)
        or len(metadata) > 10
        or any(not isinstance(v, str) or len(k) > 20 or len(v) > 80 for k, v in metadata.items())
    ):
        return "Metadata: at most 10 string fields, names up to 20 and values up to 80 characters"
    if m.get("TrackLinks", "None") not in TRACK_LINKS or not isinstance(
        m.get("TrackOpens", False), bool
    ):
        return "TrackLinks or TrackOpens is not valid"
    return None


class PostmarkFake(Fake):
    name = "postmark"
    max_body = 50 * MB

    def route(self, request: Request) -> Answer | object:
        if request.headers.get("x-postmark-server-token") != self.api_key:
            return Answer(
                401,
                {
                    "ErrorCode": 10,
                    "Message": "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
                },
            )
        if request.method == "GET" and request.path == "/server":
            return Answer(200, {"Name": "Fake server", "ID": 1})
        if request.method != "POST" or request.path != "/email/batch":
            return Answer(404, {"ErrorCode": 404, "Message": "not found"})
        if not request.headers.get("content-type", "").startswith(
            "application/json"
        ) or "application/json" not in request.headers.get("accept", ""):
            return Answer(
                415,
                {"ErrorCode": 415, "Message": "Content-Type and Accept must be application/json"},
            )
        try:
            messages = request.json()
        except ValueError:
            return Answer(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
        if not isinstance(messages, list) or len(messages) > 500:
            return Answer(
                422,
                {"ErrorCode": 410, "Message": "You may only send up to 500 messages in a batch."},
            )
        answers, taken = [], []
        for m in messages:
            refused = problem(m)
            if refused:
                answers.append({"ErrorCode": 300, "Message": f"Invalid email request: {refused}"})
                continue
            if m.get("MessageStream") != "broadcast":
                answers.append({"ErrorCode": 1235, "Message": "The message stream does not exist."})
                continue
            address = m["To"].rsplit("<", 1)[-1].rstrip(">")
            if address in self.reject:
                answers.append(
                    {
                        "ErrorCode": 406,
                        "Message": "You tried to send to recipient(s) that have been marked as inactive.",
                    }
                )
                continue
            headers = {h["Name"]: h["Value"] for h in m.get("Headers", [])}
            headers["From"] = m["From"]
            if m.get("ReplyTo"):
                headers["Reply-To"] = m["ReplyTo"]
            taken.append(
                Accepted(
                    address, m["Subject"], m.get("HtmlBody", ""), m.get("TextBody", ""), headers
                )
            )
            answers.append(
                {"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()), "To": m["To"]}
            )
        if self.take(taken) is DROP:
            return DROP
        return Answer(200, answers)
