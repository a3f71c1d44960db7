"""Postmark's /email/batch, as documented: token header, JSON array of up to 500, per-message results."""

from __future__ import annotations

import uuid

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request


class PostmarkFake(Fake):
    name = "postmark"

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
            missing = [k for k in ("From", "To", "Subject") if not m.get(k)]
            if missing or not (m.get("HtmlBody") or m.get("TextBody")):
                answers.append(
                    {"ErrorCode": 300, "Message": f"Invalid email request: missing {missing}"}
                )
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
