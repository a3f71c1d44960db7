"""Mailgun's /v3/<domain>/messages, as documented: basic auth api:KEY, form fields, recipient-variables."""

from __future__ import annotations

import base64
import json
import re
import uuid
from urllib.parse import parse_qs

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request

VARIABLE = re.compile(r"%recipient\.(\w+)%")


class MailgunFake(Fake):
    """https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/: at most
    1,000 recipients a call (batch sending), 25 MB a message; ``recipient-variables`` valid
    JSON with an entry for every recipient; custom headers as ``h:``; a Reply-To as
    ``h:Reply-To`` (given twice, refused)."""

    name = "mailgun"
    domain = "mg.example.com"
    max_body = 25 * 1024 * 1024

    def route(self, request: Request) -> Answer | object:
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Answer(401, b"Forbidden")
        if request.method == "GET" and request.path == f"/v3/domains/{self.domain}":
            return Answer(200, {"domain": {"name": self.domain, "state": "active"}})
        if request.method != "POST" or not request.path.startswith("/v3/"):
            return Answer(404, {"message": "not found"})
        if request.path != f"/v3/{self.domain}/messages":
            return Answer(404, {"message": "Domain not found"})
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return Answer(400, {"message": "expected a form"})
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        recipients = form.get("to", [])
        for required in ("from", "to", "subject"):
            if not form.get(required):
                return Answer(400, {"message": f"'{required}' parameter is missing"})
        if len(recipients) > 1000:
            return Answer(400, {"message": "Too many recipients"})
        if len(form.get("h:Reply-To", [])) > 1:
            return Answer(400, {"message": "Reply-To given twice"})
        try:
            variables = json.loads(form.get("recipient-variables", ["{}"])[0])
        except ValueError:
            return Answer(400, {"message": "recipient-variables is not valid JSON"})
        bare = [to.rsplit("<", 1)[-1].rstrip(">") for to in recipients]
        if len(recipients) > 1 and not all(a in variables for a in bare):
            return Answer(
                400, {"message": "recipient-variables must hold every recipient of a batch"}
            )
        taken = []
        for to in recipients:
            address = to.rsplit("<", 1)[-1].rstrip(">")
            if address in self.reject:
                continue
            values = variables.get(address, {})

            def fill(text: str, values: dict[str, str] = values) -> str:
                return VARIABLE.sub(lambda m: str(values.get(m.group(1), "")), text)

            headers = {k[2:]: fill(v[0]) for k, v in form.items() if k.startswith("h:")}
            headers["From"] = form["from"][0]
            taken.append(
                Accepted(
                    address,
                    fill(form["subject"][0]),
                    fill(form.get("html", [""])[0]),
                    fill(form.get("text", [""])[0]),
                    headers,
                )
            )
        if self.take(taken) is DROP:
            return DROP
        return Answer(
            200, {"id": f"<{uuid.uuid4().hex}@{self.domain}>", "message": "Queued. Thank you."}
        )
