"""Odd bodies at every webhook endpoint: a clear 4xx, never a 500; nothing stored; nothing fetched.

Where the provider's proof is in the headers (Postmark, SendGrid, Resend), each body is sent
with valid proof, so the parser itself meets it. Mailgun and SNS carry their proof inside the
JSON, so these bodies meet the bounded parse and the cheap checks first.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from tests.hooks import CERT_URL, everything, hooks_for, mailgun_body, sns_message

PROVIDERS = ("postmark", "sendgrid", "mailgun", "resend", "ses")
DEEP = 10_000

# Bodies that are odd for every provider.
ANY_PROVIDER = {
    "empty": b"",
    "not UTF-8": b'{"Type": "Notification\xff\xfe"}',
    "arrays nested 10,000 deep": b"[" * DEEP + b"]" * DEEP,
    "objects nested 10,000 deep": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "33 levels": b'{"a":[' * 16 + b'{"b":1}' + b"]}" * 16,
    "not JSON": b"{not json",
    "unbalanced": b'{"a": [1, 2}',
    "a number": b"7",
    "a string": b'"Notification"',
    "null": b"null",
    "NaN": b'{"a": NaN}',
    "a float beyond range": b'{"a": 1e400}',
    "an integer of 5,000 digits": b'{"a": ' + b"9" * 5000 + b"}",
}

# Well-formed JSON of the wrong shape, per provider.
SHAPES: dict[str, dict[str, object]] = {
    "postmark": {
        "a list for RecordType": {"RecordType": ["Bounce"], "Email": "ann@example.com"},
        "no RecordType": {"Email": "ann@example.com"},
        "a number for Email": {"RecordType": "Bounce", "Email": 7},
        "an object for MessageID": {"RecordType": "Bounce", "MessageID": {"a": 1}},
        "a list for ID": {"RecordType": "Bounce", "ID": [1], "Email": "ann@example.com"},
        "a boolean for ID": {"RecordType": "Bounce", "ID": True},
        "an array": [{"RecordType": "Bounce"}],
    },
    "sendgrid": {
        "an object, not an array": {"event": "bounce", "sg_event_id": "e"},
        "a number in the array": [1],
        "a list for sg_event_id": [{"sg_event_id": ["e"], "email": "ann@example.com"}],
        "no sg_event_id": [{"event": "bounce", "email": "ann@example.com"}],
        "a number for email": [{"sg_event_id": "e", "event": "bounce", "email": 5}],
        "an object for type": [{"sg_event_id": "e", "event": "bounce", "type": {"a": 1}}],
        "a list for sg_message_id": [{"sg_event_id": "e", "sg_message_id": ["m"]}],
    },
    "resend": {
        "a list for type": {"type": ["email.bounced"], "data": {"to": ["ann@example.com"]}},
        "a list for data": {"type": "email.bounced", "data": ["ann@example.com"]},
        "no data": {"type": "email.bounced"},
        "a number in to": {"type": "email.bounced", "data": {"to": [5]}},
        "an object for to": {"type": "email.bounced", "data": {"to": {"a": "b"}}},
        "an object for email_id": {
            "type": "email.bounced",
            "data": {"to": ["ann@example.com"], "email_id": {"a": 1}},
        },
    },
    "ses": {
        "a list for Type": {"Type": ["Notification"], "TopicArn": "x"},
        "a number for Type": {"Type": 5},
        "an unknown Type": {"Type": "Surprise"},
        "only a Type": {"Type": "Notification"},
        "a number for MessageId": json.loads(sns_message("Notification", MessageId="x"))
        | {"MessageId": 5},
        "a list for TopicArn": json.loads(sns_message("Notification")) | {"TopicArn": ["x"]},
        "a list for Signature": json.loads(sns_message("Notification")) | {"Signature": ["x"]},
        "an object for Subject": json.loads(sns_message("Notification")) | {"Subject": {}},
        "a Timestamp that is no time": json.loads(sns_message("Notification"))
        | {"Timestamp": "yesterday"},
        "no SigningCertURL": {
            k: v
            for k, v in json.loads(sns_message("Notification")).items()
            if k != "SigningCertURL"
        },
        "no SubscribeURL in a confirmation": {
            k: v
            for k, v in json.loads(sns_message("SubscriptionConfirmation")).items()
            if k != "SubscribeURL"
        },
    },
}

# Mailgun's proof is inside the body: these are signed properly around an odd event-data.
MAILGUN_EVENTS: dict[str, object] = {
    "a list for event-data": ["failed"],
    "a string for event-data": "failed",
    "no id": {"event": "failed", "recipient": "ann@example.com"},
    "an object for id": {"id": {"a": 1}, "event": "failed"},
    "a list for event": {"id": "e", "event": ["failed"]},
    "a number for recipient": {"id": "e", "event": "failed", "recipient": 5},
    "a list for message": {"id": "e", "event": "failed", "message": ["x"]},
    "a list for message headers": {"id": "e", "event": "failed", "message": {"headers": [1]}},
    "a number for message-id": {
        "id": "e",
        "event": "failed",
        "message": {"headers": {"message-id": 5}},
    },
}
MAILGUN_SIGNATURES: dict[str, object] = {
    "a string for signature": {"signature": "abc", "event-data": {}},
    "a list for timestamp": {
        "signature": {"timestamp": [1], "token": "t", "signature": "s"},
        "event-data": {},
    },
    "a number for token": {
        "signature": {"timestamp": "1", "token": 5, "signature": "s"},
        "event-data": {},
    },
    "no signature": {"event-data": {"id": "e"}},
}

# SES notifications properly signed by SNS around an odd Message: the certificate is fetched
# (the message passed every cheap check), nothing else.
SES_MESSAGES = {
    "a Message that is not JSON": "not json",
    "a Message nested 10,000 deep": "[" * DEEP + "]" * DEEP,
    "a Message that is a list": "[1, 2]",
    "an object for bounce": json.dumps({"notificationType": "Bounce", "bounce": "x"}),
    "an object for bouncedRecipients": json.dumps(
        {"notificationType": "Bounce", "bounce": {"bouncedRecipients": {"a": 1}}}
    ),
    "a number for emailAddress": json.dumps(
        {"notificationType": "Bounce", "bounce": {"bouncedRecipients": [{"emailAddress": 5}]}}
    ),
    "a list for notificationType": json.dumps({"notificationType": ["Bounce"]}),
    "a list for mail": json.dumps({"notificationType": "Complaint", "mail": []}),
    "a string for complaint": json.dumps({"notificationType": "Complaint", "complaint": ""}),
}

# A good event but for one string that no database column or JSON column can hold.
TEXTS = {"a NUL": "\x00", "a lone surrogate": "\ud800"}


def good_event(provider: str, address: str, detail: str = "") -> bytes:
    """A well-formed bounce for ``address`` as ``provider`` posts it (SES's is its Message)."""
    event: object
    if provider == "postmark":
        event = {"RecordType": "Bounce", "ID": 1, "Type": "HardBounce", "Email": address}
        event["Details"] = detail
    elif provider == "sendgrid":
        event = [{"sg_event_id": "e1", "event": "bounce", "email": address, "reason": detail}]
    elif provider == "resend":
        event = {"type": "email.bounced", "data": {"to": [address], "reason": detail}}
    elif provider == "mailgun":
        return mailgun_body(
            {"id": "e1", "event": "failed", "severity": "permanent", "recipient": address}
            | {"reason": detail}
        )
    else:
        return json.dumps(
            {
                "notificationType": "Bounce",
                "bounce": {
                    "bounceType": "Permanent",
                    "bouncedRecipients": [{"emailAddress": address}],
                },
                "detail": detail,
            }
        ).encode()
    return json.dumps(event).encode()


def odd_bodies(provider: str) -> dict[str, bytes]:
    """Every odd body for ``provider``, by name."""
    bodies = dict(ANY_PROVIDER)
    bodies.update({name: json.dumps(v).encode() for name, v in SHAPES.get(provider, {}).items()})
    if provider == "mailgun":
        bodies.update({f"signed, {n}": mailgun_body(e) for n, e in MAILGUN_EVENTS.items()})
        bodies.update({n: json.dumps(d).encode() for n, d in MAILGUN_SIGNATURES.items()})
    if provider != "ses":  # SES's own come signed by SNS: test_an_odd_ses_message_...
        for name, text in TEXTS.items():
            bodies[f"a good event with {name}"] = good_event(provider, "ann@example.com", text)
            bodies[f"an address with {name}"] = good_event(provider, f"ann{text}@example.com")
    return bodies


@pytest.fixture
def ann(project: Project) -> Project:
    """A project with one active subscriber, the one every odd body names."""
    assert project.run("subscribers", "add", "ann@example.com").exit_code == 0
    return project


@pytest.mark.parametrize("provider", PROVIDERS)
def test_odd_bodies_are_400s_that_change_and_fetch_nothing(ann: Project, provider: str) -> None:
    before = everything(ann)
    wrong: dict[str, str] = {}
    with hooks_for(ann, provider) as hooks:
        for name, raw in odd_bodies(provider).items():
            answer = hooks.post(raw)
            if answer.status_code != 400 or not answer.text.startswith("bad request: "):
                wrong[name] = f"{answer.status_code} {answer.text[:80]}"
    assert wrong == {}
    assert everything(ann) == before
    assert hooks.fetched == []


def test_odd_ses_messages_signed_by_sns_are_400s(ann: Project) -> None:
    messages = {
        **SES_MESSAGES,
        **{
            f"a good event with {n}": good_event("ses", "ann@example.com", t).decode()
            for n, t in TEXTS.items()
        },
        **{
            f"an address with {n}": good_event("ses", f"ann{t}@example.com").decode()
            for n, t in TEXTS.items()
        },
    }
    before = everything(ann)
    wrong: dict[str, int] = {}
    with hooks_for(ann, "ses") as hooks:
        for i, (name, message) in enumerate(messages.items()):
            answer = hooks.post(sns_message("Notification", MessageId=f"m-{i}", Message=message))
            if answer.status_code != 400:
                wrong[name] = answer.status_code
    assert wrong == {}
    assert everything(ann) == before
    assert hooks.fetched == [CERT_URL], "the certificate (once), nothing else"


def test_the_good_events_of_the_table_are_taken(project: Project) -> None:
    """The table's odd bodies are odd by the one thing named: the same shapes, good, work."""
    for provider in PROVIDERS:
        address = f"{provider}@example.com"
        assert project.run("subscribers", "add", address).exit_code == 0
        raw = good_event(provider, address, "mailbox full")
        with hooks_for(project, provider) as hooks:
            answer = hooks.post(
                sns_message("Notification", Message=raw.decode()) if provider == "ses" else raw
            )
        assert answer.status_code == 200, (provider, answer.text)
    statuses = {s["email"]: s["status"] for s in project.rows("subscribers")}
    assert statuses == {f"{p}@example.com": "bounced" for p in PROVIDERS}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_3_mb_body_is_a_413(ann: Project, provider: str) -> None:
    raw = b'{"a": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    before = everything(ann)
    with hooks_for(ann, provider) as hooks:
        declared = hooks.post(raw)
        chunks = (raw[i : i + 65536] for i in range(0, len(raw), 65536))
        chunked = hooks.client.post(f"/webhooks/{provider}", content=chunks)
    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert everything(ann) == before
    assert hooks.fetched == []
