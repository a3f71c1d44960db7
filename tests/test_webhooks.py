"""The provider webhooks: each provider's proof checked, each event stored once and acted on.

SES (through SNS) is believed only for the configured topic, and nothing is fetched before
the checks that cost nothing pass.
"""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from starlette.testclient import TestClient

from newsletter.web import create_app
from tests.conftest import Project
from tests.hooks import (
    CERT_URL,
    SUBSCRIBE_URL,
    TOPIC,
    auth_headers,
    everything,
    hooks_for,
    mailgun_body,
    ses_bounce,
    sns_message,
)


def people(project: Project) -> dict[str, str]:
    return {s["email"]: s["status"] for s in project.rows("subscribers")}


def test_postmark_bounce_with_basic_auth(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    body = json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 42,
            "Type": "HardBounce",
            "Email": "ann@example.com",
            "MessageID": "m-1",
        }
    ).encode()
    bad = "Basic " + base64.b64encode(b"postmark:wrong").decode()
    with hooks_for(project, "postmark") as hooks:
        assert hooks.post(body, signed=False, authorization=bad).status_code == 401
        assert people(project)["ann@example.com"] == "active"
        assert hooks.post(body).status_code == 200
        assert hooks.post(body).status_code == 200
    assert people(project)["ann@example.com"] == "bounced"
    assert len(project.rows("provider_events")) == 1, "the same event twice is one row"
    assert [(e["kind"], e["via"]) for e in project.rows("subscriber_events")][-1] == (
        "bounced",
        "webhook:postmark",
    )


def test_sendgrid_signed_events(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    project.run("subscribers", "add", "bob@example.com")
    events = [
        {"email": "ann@example.com", "event": "bounce", "type": "bounce", "sg_event_id": "e1"},
        {"email": "bob@example.com", "event": "spamreport", "sg_event_id": "e2"},
        {"email": "bob@example.com", "event": "delivered", "sg_event_id": "e3"},
    ]
    body = json.dumps([{**e, "sg_message_id": "m1", "timestamp": 1} for e in events]).encode()
    with hooks_for(project, "sendgrid") as hooks:
        signed_other_bytes = auth_headers("sendgrid", body)
        assert hooks.post(body + b" ", signed=False, **signed_other_bytes).status_code == 401, (
            "the signature covers the exact bytes"
        )
        assert people(project) == {"ann@example.com": "active", "bob@example.com": "active"}
        assert hooks.post(body).status_code == 200
    assert people(project) == {"ann@example.com": "bounced", "bob@example.com": "complained"}
    assert sorted(e["kind"] for e in project.rows("provider_events")) == [
        "bounced",
        "complained",
        "delivered",
    ]


def test_mailgun_hmac_stale_and_replayed(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    event = {
        "id": "ev-1",
        "event": "failed",
        "severity": "permanent",
        "recipient": "ann@example.com",
    }
    with hooks_for(project, "mailgun") as hooks:
        assert hooks.post(mailgun_body(event, "t1", key="wrong")).status_code == 401
        assert hooks.post(mailgun_body(event, "t2", int(time.time()) - 3600)).status_code == 401
        assert people(project)["ann@example.com"] == "active"
        fresh = mailgun_body(event, "t3")
        assert hooks.post(fresh).status_code == 200
        assert people(project)["ann@example.com"] == "bounced"
        assert hooks.post(fresh).status_code == 401, "a replayed token"


def test_mailgun_verifies_before_it_reads_the_event(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    before = everything(project)
    with hooks_for(project, "mailgun") as hooks:
        # Unsigned, with an event-data that would be a 400 if it were read: refused as unproven.
        assert hooks.post(mailgun_body(["not", "an", "event"], key="wrong")).status_code == 401
        assert hooks.post(mailgun_body({"id": {"x": 1}}, key="wrong")).status_code == 401
    assert everything(project) == before


def test_resend_svix_signature(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    body = json.dumps(
        {
            "type": "email.complained",
            "created_at": "2026-11-24T14:00:00Z",
            "data": {"email_id": "e-1", "to": ["ann@example.com"]},
        }
    ).encode()
    with hooks_for(project, "resend") as hooks:
        good = auth_headers("resend", body)
        forged = {**good, "svix-signature": "v1,AAAA"}
        assert hooks.post(body, signed=False, **forged).status_code == 401
        several = {**good, "svix-signature": "v1,xyz " + good["svix-signature"]}
        assert hooks.post(body, signed=False, **several).status_code == 200
    assert people(project)["ann@example.com"] == "complained"


def test_webhooks_refuse_everything_without_a_secret(project: Project) -> None:
    with TestClient(create_app(project.settings, project.engine)) as client:
        assert client.post("/webhooks/postmark", content=b"{}").status_code == 401
        assert client.post("/webhooks/nosuch", content=b"{}").status_code == 404


# ---- SES through SNS ------------------------------------------------------------------------------


def test_ses_through_sns_with_the_signature_checked(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    with hooks_for(project, "ses") as hooks:
        assert hooks.post(sns_message("SubscriptionConfirmation")).status_code == 200
        assert hooks.fetched == [CERT_URL, SUBSCRIBE_URL], "certificate, then the confirmation"
        body = sns_message("Notification", version="1", Message=ses_bounce("ann@example.com"))
        tampered = body.replace(b"Permanent", b"Transient")
        assert hooks.post(tampered).status_code == 401
        assert people(project)["ann@example.com"] == "active"
        assert hooks.post(body).status_code == 200
        assert hooks.post(body).status_code == 200, "SNS retries: the same message again"
    assert people(project)["ann@example.com"] == "bounced"
    assert len(project.rows("provider_events")) == 1
    assert hooks.fetched.count(CERT_URL) == 1, "the certificate is cached"


def test_ses_refuses_everything_until_the_topic_is_set(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    project.run("subscribers", "add", "ann@example.com")
    before = everything(project)
    with hooks_for(project, "ses", topic=None) as hooks:
        for body in (
            sns_message("SubscriptionConfirmation"),
            sns_message("Notification", Message=ses_bounce("ann@example.com")),
        ):
            answer = hooks.post(body)
            assert answer.status_code == 401
            assert "not configured" in answer.text
    assert hooks.fetched == []
    assert everything(project) == before
    assert "[webhooks] ses_topic_arn is not set" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_a_confirmation_for_another_topic_is_refused_and_never_fetched(project: Project) -> None:
    other = "arn:aws:sns:us-east-1:999999999999:someone-elses"
    with hooks_for(project, "ses") as hooks:
        answer = hooks.post(
            sns_message(
                "SubscriptionConfirmation",
                TopicArn=other,
                SubscribeURL=SUBSCRIBE_URL.replace(TOPIC, other),
            )
        )
        assert answer.status_code == 401
    assert hooks.fetched == [], "neither its certificate nor its SubscribeURL"


def test_a_notification_from_another_topic_changes_nothing(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    before = everything(project)
    with hooks_for(project, "ses") as hooks:
        body = sns_message(
            "Notification",
            TopicArn="arn:aws:sns:us-east-1:999999999999:theirs",
            Message=ses_bounce("ann@example.com"),
        )
        assert hooks.post(body).status_code == 401
    assert hooks.fetched == []
    assert everything(project) == before


def test_several_topics_may_be_configured(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    complaints = "arn:aws:sns:us-east-1:123456789012:complaints"
    with hooks_for(project, "ses", topic=f"{TOPIC}, {complaints}") as hooks:
        body = sns_message(
            "Notification",
            TopicArn=complaints,
            Message=json.dumps(
                {
                    "notificationType": "Complaint",
                    "complaint": {"complainedRecipients": [{"emailAddress": "ann@example.com"}]},
                    "mail": {"messageId": "ses-1"},
                }
            ),
        )
        assert hooks.post(body).status_code == 200
    assert people(project)["ann@example.com"] == "complained"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"SigningCertURL": "https://evil.example.com/cert.pem"}, "not an SNS host"),
        ({"SigningCertURL": "http://sns.us-east-1.amazonaws.com/c.pem"}, "not HTTPS"),
        ({"SigningCertURL": "https://sns.eu-west-1.amazonaws.com/c.pem"}, "another region"),
        ({"SigningCertURL": "https://sns.us-east-1.amazonaws.com:8443/c.pem"}, "a port"),
        ({"SigningCertURL": "https://x@sns.us-east-1.amazonaws.com/c.pem"}, "credentials"),
        ({"SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.com/c.pem"}, "a lookalike"),
        ({"SigningCertURL": "https://sns.us-east-1.amazonaws.com/?Action=Other"}, "not a .pem"),
        ({"SignatureVersion": "3"}, "an unknown signature version"),
        ({"Signature": "%%% not base64 %%%"}, "a signature that is not base64"),
    ],
)
def test_cheap_checks_refuse_before_any_fetch(
    project: Project, fields: dict[str, str], why: str
) -> None:
    body = json.loads(sns_message("Notification", Message=ses_bounce("ann@example.com")))
    body.update(fields)
    with hooks_for(project, "ses") as hooks:
        assert hooks.post(json.dumps(body).encode()).status_code == 401, why
    assert hooks.fetched == [], why


def test_a_confirmation_whose_url_is_not_a_confirmation_is_refused(project: Project) -> None:
    with hooks_for(project, "ses") as hooks:
        odd = "https://sns.us-east-1.amazonaws.com/?Action=Publish&TopicArn=x"
        assert (
            hooks.post(sns_message("SubscriptionConfirmation", SubscribeURL=odd)).status_code == 401
        )
    assert hooks.fetched == []


def test_a_certificate_that_cannot_be_fetched_is_a_503_and_changes_nothing(
    project: Project,
) -> None:
    project.env["NEWSLETTER_WEBHOOKS_SES_TOPIC_ARN"] = TOPIC

    def unreachable(url: str) -> bytes:
        raise OSError("connection refused")

    before = everything(project)
    with TestClient(create_app(project.settings, project.engine, fetch=unreachable)) as client:
        body = sns_message("Notification", Message=ses_bounce("ann@example.com"))
        answer = client.post("/webhooks/ses", content=body)
    assert answer.status_code == 503
    assert everything(project) == before


def test_certificate_fetches_are_limited(project: Project) -> None:
    with hooks_for(project, "ses") as hooks:
        statuses = []
        for i in range(12):
            url = f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{i}.pem"
            statuses.append(hooks.post(sns_message("Notification", SigningCertURL=url)).status_code)
    assert statuses == [200] * 10 + [503] * 2
    assert len(hooks.fetched) == 10


def test_a_bad_topic_arn_in_the_config_is_named(project: Project) -> None:
    project.env["NEWSLETTER_WEBHOOKS_SES_TOPIC_ARN"] = "my-topic"
    result = project.run("status")
    assert result.exit_code == 1
    assert "[webhooks] ses_topic_arn" in result.output
    assert "'my-topic' is not an SNS topic ARN" in result.output
