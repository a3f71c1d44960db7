"""The sending engine: what subscribers receive, what the ledger holds, what `send` says."""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import update

from newsletter.errors import ProviderError
from newsletter.messages import one_off
from newsletter.models import Delivery
from newsletter.providers.base import Message, SendResult
from newsletter.providers.outbox import OutboxProvider
from newsletter.ratelimit import SharedBucket
from newsletter.sending import send_week
from newsletter.tokens import UNSUBSCRIBE, Tokens
from newsletter.weeks import IsoWeek
from tests.conftest import TEST_SECRET, Project, queue_and_subscribe, tip_text

WEEK = "2026-W48"


def setup_list(project: Project, active: int = 5, *, tips: int = 1) -> list[str]:
    for i in range(tips):
        project.write(
            f"tips/{i}.md",
            tip_text(f"Tip Number {i}", "Be kind. Then be kinder.", takeaway="Kindness wins."),
        )
        assert project.run("tips", "add", f"tips/{i}.md").exit_code == 0
    addresses = [f"person{i}@example.com" for i in range(active)]
    project.write(
        "list.csv", "email,name\n" + "".join(f"{a},Person {i}\n" for i, a in enumerate(addresses))
    )
    assert project.run("subscribers", "import", "list.csv").exit_code == 0
    return addresses


def outbox(project: Project, week: str = WEEK) -> dict[str, list[EmailMessage]]:
    """Every .eml in the week's outbox folder, by recipient address."""
    found: dict[str, list[EmailMessage]] = {}
    for path in sorted(
        (project.dir / "outbox" / week).glob("[0-9]*.eml")
    ):  # not a killed writer's temp file
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        found.setdefault(str(msg["To"].addresses[0].addr_spec), []).append(msg)
    return found


def statuses(project: Project) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in project.rows("deliveries"):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


# ---- the whole send, through the CLI ----------------------------------------------------------


def test_every_active_subscriber_gets_one_complete_message(project: Project) -> None:
    addresses = setup_list(project, 4)
    project.run("subscribers", "add", "gone@example.com")
    project.run("subscribers", "unsubscribe", "gone@example.com")
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    assert (
        f"Edition {WEEK} (Tip Number 0): 4 sent, 0 failed, 0 in doubt, 0 skipped of 4"
        in result.stdout
    )
    assert f"The .eml files are in {project.dir / 'outbox' / WEEK}/" in result.stdout
    received = outbox(project)
    assert sorted(received) == sorted(addresses)
    msg = received["person1@example.com"][0]
    assert msg["Subject"] == "Tip Number 0 | Customer Service Tip of the Week"
    assert msg["From"] == '"Customer Service Solutions, Inc." <tips@example.com>'
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"] == "Customer Service Tip of the Week <tips.example.com>"
    assert msg["Message-ID"] and msg["Date"]
    link = str(msg["List-Unsubscribe"]).strip()
    assert link.startswith("<https://tips.example.com/u/") and link.endswith(">")
    token = Tokens([TEST_SECRET]).read(UNSUBSCRIBE, link[1:-1].rsplit("/", 1)[1])
    assert token.subscriber_id == next(
        s["id"] for s in project.rows("subscribers") if s["email"] == "person1@example.com"
    )
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Hi Person 1," in text and "Hi Person 1," in html
    assert link[1:-1] in text and link[1:-1] in html
    assert "100 Test Street" in text and "100 Test Street" in html
    assert statuses(project) == {"sent": 4}
    assert json.loads(project.run("tips", "list", "--all", "--json").stdout)[0]["status"] == "sent"


def test_a_rerun_says_already_sent_and_sends_nothing(project: Project) -> None:
    setup_list(project, 3, tips=2)
    assert project.run("send", "--week", WEEK, "--yes").exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in (project.dir / "outbox" / WEEK).glob("*.eml")}
    again = project.run("send", "--week", WEEK, "--yes")
    assert again.exit_code == 0
    assert again.stdout.strip() == f"Edition {WEEK} already sent to 3 subscribers"
    assert {
        p: p.stat().st_mtime_ns for p in (project.dir / "outbox" / WEEK).glob("*.eml")
    } == before
    assert len(project.rows("editions")) == 1
    queue = json.loads(project.run("tips", "list", "--json").stdout)
    assert [t["title"] for t in queue] == ["Tip Number 1"], "the second tip stays queued"


def test_an_empty_queue_is_a_clear_error_and_writes_nothing(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    before = project.snapshot()
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "error: the queue is empty: nothing to send (add tips with `newsletter tips add FILE`)"
    )
    assert project.snapshot() == before


def test_no_postal_address_is_refused_before_anything_is_written(project: Project) -> None:
    setup_list(project, 2)
    project.config.write_text(
        project.config.read_text().replace(
            'postal_address = "100 Test Street, Springfield, IL 62701, USA"', ""
        )
    )
    before = project.snapshot()
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 1
    assert "postal_address is not set" in result.stderr
    assert project.snapshot() == before
    assert not (project.dir / "outbox").exists()


def test_no_signing_key_is_refused_before_anything_is_written(project: Project) -> None:
    setup_list(project, 2)
    project.env.pop("NEWSLETTER_SECRET_KEY")
    before = project.snapshot()
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 1
    assert "NEWSLETTER_SECRET_KEY is not set" in result.stderr
    assert project.snapshot() == before


def test_dry_run_and_test_to_change_nothing_in_the_ledger(project: Project) -> None:
    setup_list(project, 7)
    before = project.snapshot()
    dry = project.run("send", "--week", WEEK, "--yes", "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines() == [
        f"dry run: would start edition {WEEK}: Tip Number 0",
        "recipients: 7",
        *[f"  person{i}@example.com" for i in range(5)],
        "  … and 2 more",
    ]
    test = project.run("send", "--week", WEEK, "--yes", "--test-to", "Boss@Example.com")
    assert test.exit_code == 0, test.output
    assert project.snapshot() == before
    (copy,) = outbox(project, f"test-{WEEK}")["boss@example.com"]
    assert copy["Subject"] == "[TEST] Tip Number 0 | Customer Service Tip of the Week"
    assert not (project.dir / "outbox" / WEEK).exists()


def test_a_subscriber_who_unsubscribes_mid_send_is_skipped(project: Project) -> None:
    setup_list(project, 3)
    project.settings  # noqa: B018 (config is valid)
    from newsletter import db as database
    from newsletter.editions import open_edition

    open_edition(database.session_factory(project.engine), project.settings, IsoWeek.parse(WEEK))
    project.run("subscribers", "unsubscribe", "person1@example.com")
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 failed, 0 in doubt, 1 skipped of 3" in result.stdout
    assert sorted(outbox(project)) == ["person0@example.com", "person2@example.com"]


def test_editions_list_and_show(project: Project) -> None:
    setup_list(project, 2)
    project.run("send", "--week", WEEK, "--yes")
    listing = json.loads(project.run("editions", "list", "--json").stdout)
    assert [(e["week"], e["status"], e["counts"]["sent"]) for e in listing] == [(WEEK, "sent", 2)]
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    assert shown["recipients"] == 2
    assert shown["problems"] == []
    assert (
        "deliveries: 0 pending, 0 claimed, 2 sent" in project.run("editions", "show", WEEK).stdout
    )
    missing = project.run("editions", "show", "2020-W01")
    assert missing.exit_code == 1
    assert (
        missing.stderr.strip() == "error: no edition for 2020-W01 (see `newsletter editions list`)"
    )
    bad = project.run("editions", "show", "week 5")
    assert bad.stderr.strip() == "error: 'week 5' is not an ISO week like 2026-W48"


# ---- the engine, through a scripted provider -----------------------------------------------


class Scripted:
    """A provider that fails on cue, then delivers through a real outbox."""

    name = "scripted"
    max_batch = 2
    default_rate = 0.0
    key_memory = None
    sequential = False

    def __init__(
        self,
        folder: Path,
        failures: Sequence[ProviderError | None] = (),
        *,
        idempotent: bool = False,
        reject: Sequence[str] = (),
    ) -> None:
        self.outbox = OutboxProvider.at(folder)
        self.failures = list(failures)
        self.idempotent = idempotent
        self.reject = set(reject)
        self.calls: list[tuple[str, list[int]]] = []

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: object = None
    ) -> list[SendResult]:
        self.calls.append((batch_key, [m.delivery_id for m in messages]))
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
        ok = [m for m in messages if m.to not in self.reject]
        sent = {r.delivery_id: r for r in self.outbox.send_batch(ok, batch_key)}
        return [
            sent.get(m.delivery_id)
            or SendResult(
                m.delivery_id, error="406 inactive recipient", permanent=True, suppressed=True
            )
            for m in messages
        ]

    def check(self) -> str:
        return "scripted"

    def close(self) -> None:
        pass


def run_send(project: Project, provider: Scripted, max_attempts: int = 8, **kwargs: object):  # type: ignore[no-untyped-def]
    project.provider(concurrency=1, max_attempts=max_attempts)  # one thread: failures land in order
    slept: list[float] = []
    report = send_week(
        project.settings,
        IsoWeek.parse(WEEK),
        engine=project.engine,
        provider=provider,
        sleep=slept.append,
        **kwargs,
    )  # type: ignore[arg-type]
    return report, slept


def test_transient_errors_are_retried_with_backoff_and_retry_after(project: Project) -> None:
    setup_list(project, 4)
    provider = Scripted(
        project.dir / "outbox",
        [
            ProviderError("429 too many requests", permanent=False, retry_after=7.0),
            ProviderError("503", permanent=False),
            None,
        ],
    )
    report, slept = run_send(project, provider)
    assert report.counts["sent"] == 4
    assert slept[0] == 7.0, "Retry-After is honoured"
    assert 0 <= slept[1] <= 2.0, "full jitter under the exponential"
    assert sorted(outbox(project)) == [f"person{i}@example.com" for i in range(4)]
    keys = [key for key, _ in provider.calls]
    assert keys[0] == keys[1] == keys[2], "a retry is the same batch, with the same key"


def test_a_permanent_error_stops_the_send_and_leaves_the_rest_pending(project: Project) -> None:
    setup_list(project, 6)
    provider = Scripted(
        project.dir / "outbox", [None, ProviderError("401 bad API key", permanent=True)]
    )
    report, _ = run_send(project, provider)
    assert report.stopped == "401 bad API key"
    assert not report.finished
    assert statuses(project) == {"sent": 2, "pending": 4}
    assert len(outbox(project)) == 2


def test_giving_up_after_max_attempts_leaves_rows_pending(project: Project) -> None:
    setup_list(project, 2)
    provider = Scripted(project.dir / "outbox", [ProviderError("500", permanent=False)] * 3)
    report, _ = run_send(project, provider, max_attempts=3)
    assert report.stopped == "500"
    assert statuses(project) == {"pending": 2}
    assert len(provider.calls) == 3


def test_a_rejected_recipient_fails_alone_and_is_marked_bounced(project: Project) -> None:
    setup_list(project, 3)
    provider = Scripted(project.dir / "outbox", reject=["person1@example.com"])
    report, _ = run_send(project, provider)
    assert report.counts["sent"] == 2
    assert report.counts["failed"] == 1
    assert report.troubled
    people = {s["email"]: s["status"] for s in project.rows("subscribers")}
    assert people["person1@example.com"] == "bounced"
    assert [e["kind"] for e in project.rows("subscriber_events") if e["kind"] == "bounced"] == [
        "bounced"
    ]


def test_a_timeout_without_idempotency_is_in_doubt_and_resent_only_on_request(
    project: Project,
) -> None:
    setup_list(project, 4)
    provider = Scripted(
        project.dir / "outbox", [ProviderError("read timeout", permanent=False, ambiguous=True)]
    )
    report, slept = run_send(project, provider)
    assert report.counts == {
        "pending": 0,
        "claimed": 0,
        "sent": 2,
        "failed": 0,
        "in_doubt": 2,
        "skipped": 0,
    }
    assert slept == [], "an uncertain call is not retried blindly"
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3
    assert "2 deliveries are in doubt" in result.stderr
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    assert [p["status"] for p in shown["problems"]] == ["in_doubt", "in_doubt"]
    again = project.run("send", "--week", WEEK, "--yes", "--resend-in-doubt")
    assert again.exit_code == 0, again.output
    assert statuses(project) == {"sent": 4}


def test_a_timeout_with_an_idempotent_provider_is_retried(project: Project) -> None:
    setup_list(project, 2)
    provider = Scripted(
        project.dir / "outbox",
        [ProviderError("read timeout", permanent=False, ambiguous=True)],
        idempotent=True,
    )
    report, slept = run_send(project, provider)
    assert report.counts["sent"] == 2
    assert len(slept) == 1


def test_an_interrupted_outbox_batch_is_written_again_under_its_key_never_twice(
    project: Project,
) -> None:
    setup_list(project, 4)
    from newsletter import db as database
    from newsletter.editions import open_edition

    edition, _ = open_edition(
        database.session_factory(project.engine), project.settings, IsoWeek.parse(WEEK)
    )
    rows = project.rows("deliveries")
    # A sender of an older version (its claims name no run) claimed all four and wrote two.
    with project.engine.begin() as conn:
        conn.execute(
            update(Delivery).values(status="claimed", claimed_by="oldhost:999999:1", batch_key="k")
        )
    written = OutboxProvider.at(project.dir / "outbox")
    factory_msgs = [
        one_off(
            project.settings,
            "x@example.com",
            "s",
            "h",
            "t",
            delivery_id=r["id"],
            metadata={"edition": WEEK},
        )
        for r in rows[:2]
    ]
    written.send_batch(factory_msgs, "k")
    report = send_week(project.settings, IsoWeek.parse(WEEK), engine=project.engine)
    assert report.counts["sent"] == 4
    assert report.finished and not report.troubled
    received = outbox(project)
    assert sorted(received) == [f"person{i}@example.com" for i in range(4)]
    assert all(len(v) == 1 for v in received.values()), "the outbox dedupes: one file each"
    assert edition.recipients == 4


def test_one_rate_limit_is_shared_by_every_sender(project: Project) -> None:
    # Two engines (as two processes would have), two threads each, one limit of 400/s.
    import threading

    from newsletter import db as database

    engines = [database.make_engine(project.engine.url) for _ in range(2)]
    buckets = [SharedBucket(e, "postmark", rate=400, burst=20) for e in engines]
    taken = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 1.5

    def take(bucket: SharedBucket) -> None:
        while time.monotonic() < deadline:
            assert bucket.acquire(20)
            with lock:
                taken[0] += 20

    threads = [threading.Thread(target=take, args=(b,)) for b in buckets for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    # The bucket starts empty and holds one batch at most: 600 in 1.5 s.
    assert 540 <= taken[0] <= 660 + 80, taken[0]


# ---- real processes ----------------------------------------------------------------------


def newsletter_process(project: Project, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", *args],
        cwd=project.dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_two_senders_started_together_make_one_edition(project: Project) -> None:
    addresses = setup_list(project, 300, tips=2)
    project.provider(batch_size=10, concurrency=2)
    procs = [newsletter_process(project, "send", "--week", WEEK, "--yes") for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(project.rows("editions")) == 1
    received = outbox(project)
    assert sorted(received) == sorted(addresses)
    assert all(len(v) == 1 for v in received.values())
    assert statuses(project) == {"sent": 300}
    assert len(json.loads(project.run("tips", "list", "--json").stdout)) == 1, (
        "only one tip was used"
    )


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun_sends_everyone_exactly_once(project: Project) -> None:
    addresses = setup_list(project, 400)
    # A slowed outbox: 200 messages a second, 10 per batch, so kills land mid-send.
    project.provider(rate_limit=200, batch_size=10, concurrency=2, lease_seconds=3)
    rng = random.Random(48)
    kills = 0
    for _ in range(10):
        proc = newsletter_process(project, "send", "--week", WEEK, "--yes")
        time.sleep(rng.uniform(0.3, 1.2))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
    assert kills >= 5, "most runs were killed mid-send"
    final = newsletter_process(project, "send", "--week", WEEK, "--yes")
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    received = outbox(project)
    assert sorted(received) == sorted(addresses), "nobody skipped"
    assert all(len(v) == 1 for v in received.values()), "one file per subscriber"
    assert statuses(project) == {"sent": 400}


def test_a_send_in_a_long_lived_process_leaves_nothing_frozen(project: Project) -> None:
    """A send keeps what it holds out of the collector's passes while it runs, and gives it
    back after: a runner that sends every week must not keep each week's garbage for ever."""
    import gc

    assert gc.get_freeze_count() == 0
    queue_and_subscribe(project, 3)
    assert project.run("send", "--yes").exit_code == 0
    assert gc.get_freeze_count() == 0, "the send undid its freeze"
    gc.freeze()  # a process that froze first (the web app): a send inside it adds nothing
    try:
        frozen = gc.get_freeze_count()
        assert project.run("send", "--yes").exit_code == 0  # the same edition: nothing left
        assert gc.get_freeze_count() <= frozen, "it froze nothing more (some frozen objects died)"
    finally:
        gc.unfreeze()
