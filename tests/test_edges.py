"""The send's fate at the edges: lost answers, restarts, unexpected errors, and a person told.

Each test is one of the cases that once broke "nothing lost, nothing twice, nothing silent",
driven through the real CLI or real processes against the real provider fakes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from starlette.testclient import TestClient

from newsletter import db, fate, runners
from newsletter.editions import open_edition
from newsletter.errors import KeyReused, ProviderError
from newsletter.models import Alert, Delivery, Edition, Runner, Subscriber
from newsletter.scheduler import RETRY_JOB_ID, WeeklyRunner
from newsletter.weekly import run_week
from newsletter.weeks import IsoWeek
from tests.conftest import Project, queue_and_subscribe, use_fake
from tests.fakes.mailgun import MailgunFake
from tests.fakes.postmark import PostmarkFake
from tests.fakes.resend import ResendFake
from tests.fakes.sendgrid import SendGridFake
from tests.fakes.server import Fake
from tests.fakes.sink import Sink

WEEK = "2026-W48"
TUESDAY_0900 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # the slot of 2026-W48 in New York


@pytest.fixture
def resend() -> Iterator[ResendFake]:
    fake = ResendFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def postmark() -> Iterator[PostmarkFake]:
    fake = PostmarkFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    fake = Sink().start()
    yield fake
    fake.stop()


def statuses(project: Project) -> Counter[str]:
    return Counter(r["status"] for r in project.rows("deliveries"))


def in_doubt(project: Project) -> set[str]:
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    return {p["email"] for p in shown["problems"] if p["status"] == "in_doubt"}


def exactly_once(fake: Fake, addresses: list[str]) -> None:
    counts = fake.counts()
    assert sorted(counts) == sorted(addresses), "nobody skipped"
    twice = sorted(a for a, n in counts.items() if n > 1)
    assert twice == [], f"sent twice: {twice[:5]}"


def alerts_to(project: Project, sink: Sink, email: str = "owner@example.com") -> None:
    project.config.write_text(
        project.config.read_text()
        + f'\n[alerts]\nemail = "{email}"\nwebhook_url = "{sink.hook_url}"\n'
        + f'ping_url = "{sink.ping_url}"\n'
    )


def process(project: Project, *args: str, pid1: bool = False) -> subprocess.Popen[str]:
    """``newsletter ARGS`` as a real process; ``pid1``: as PID 1 of a new PID namespace, the way
    a container runs it after every restart."""
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    command = [sys.executable, "-m", "newsletter", *args]
    if pid1:
        command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", *command]
    return subprocess.Popen(
        command,
        cwd=project.dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---- the one fate decision -------------------------------------------------------------------

TRANSIENT = ProviderError("429", permanent=False)
AMBIGUOUS = ProviderError("read timeout", permanent=False, ambiguous=True)
PERMANENT = ProviderError("401", permanent=True)
NONSENSE = ProviderError("a 2xx that is not JSON", permanent=True, ambiguous=True)


@pytest.mark.parametrize(
    ("error", "before", "dedupes", "may_retry", "expected", "stop"),
    [
        (None, False, False, True, fate.Fate.RECORD, False),
        (None, True, True, False, fate.Fate.RECORD, False),
        (KeyReused("409"), False, True, True, fate.Fate.IN_DOUBT, False),
        (TRANSIENT, False, False, True, fate.Fate.RETRY, False),
        (TRANSIENT, False, True, True, fate.Fate.RETRY, False),
        (TRANSIENT, False, False, False, fate.Fate.RELEASE, True),
        (TRANSIENT, True, True, True, fate.Fate.RETRY, False),
        # a certain refusal after an ambiguous attempt is never a release
        (TRANSIENT, True, True, False, fate.Fate.HOLD, True),
        (TRANSIENT, True, False, False, fate.Fate.IN_DOUBT, False),
        (AMBIGUOUS, False, True, True, fate.Fate.RETRY, False),
        (AMBIGUOUS, False, False, True, fate.Fate.IN_DOUBT, False),
        (AMBIGUOUS, False, True, False, fate.Fate.HOLD, True),
        (PERMANENT, False, True, True, fate.Fate.RELEASE, True),
        (PERMANENT, True, True, True, fate.Fate.HOLD, True),
        (PERMANENT, True, False, True, fate.Fate.IN_DOUBT, True),
        (NONSENSE, False, False, True, fate.Fate.IN_DOUBT, True),
    ],
)
def test_the_fate_table(
    error: ProviderError | None,
    before: bool,
    dedupes: bool,
    may_retry: bool,
    expected: fate.Fate,
    stop: bool,
) -> None:
    decision = fate.decide(error, ambiguous_before=before, dedupes=dedupes, may_retry=may_retry)
    assert (decision.fate, decision.stop) == (expected, stop)


# ---- 1. an idempotent provider took the batch and the answer was lost -------------------------


def test_a_taken_batch_whose_answer_was_lost_is_retried_under_its_own_key(
    project: Project, resend: ResendFake
) -> None:
    addresses = queue_and_subscribe(project, 500)
    resend.die_after = 100  # takes the first batch, drops the connection, refuses for a while
    resend.down_for = 1.0
    use_fake(project, resend, batch_size=100, concurrency=2, max_attempts=40, retry_cap_seconds=0.2)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    exactly_once(resend, addresses)
    assert statuses(project) == {"sent": 500}
    assert len(set(resend.seen_keys)) == 5, "one key per batch, reused by every retry"
    assert all(k.startswith(f"{WEEK}/") and len(k) == len(WEEK) + 37 for k in resend.seen_keys)


def test_refusals_after_a_lost_answer_hold_the_batch_for_its_own_key(
    project: Project, resend: ResendFake
) -> None:
    addresses = queue_and_subscribe(project, 300)
    resend.script = ["drop", 429]  # taken but unanswered, then a certain refusal
    use_fake(project, resend, batch_size=100, concurrency=1, max_attempts=2, retry_cap_seconds=0.01)
    first = project.run("send", "--week", WEEK, "--yes")
    assert first.exit_code == 4, first.output
    assert "is unfinished: 200 pending, 100 claimed" in first.stderr
    assert statuses(project) == {"pending": 200, "claimed": 100}, "held, never released"
    held_key = resend.seen_keys[0]
    second = project.run("send", "--week", WEEK, "--yes")
    assert second.exit_code == 0, second.output
    # (the 429 was refused before the key was looked at)
    assert resend.seen_keys.count(held_key) == 2, "resent under the same key"
    exactly_once(resend, addresses)
    assert statuses(project) == {"sent": 300}


@pytest.mark.slow
def test_sigterm_while_backing_off_after_a_lost_answer_never_doubles(
    project: Project, resend: ResendFake
) -> None:
    addresses = queue_and_subscribe(project, 300)
    resend.script = ["drop"] + [429] * 50  # taken, answer lost, then refused again and again
    resend.retry_after = "1"
    use_fake(project, resend, batch_size=100, concurrency=1, max_attempts=50)
    proc = process(project, "send", "--week", WEEK, "--yes")
    wait_until(lambda: resend.calls >= 3)
    time.sleep(0.3)  # waiting the second Retry-After
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 4, err
    assert "SIGTERM: finishing the batches in flight, then stopping" in err
    assert "Traceback" not in err
    assert statuses(project)["claimed"] == 100
    resend.script = []
    again = project.run("send", "--week", WEEK, "--yes")
    assert again.exit_code == 0, again.output
    exactly_once(resend, addresses)


# ---- 2. a gateway answered after the provider took the batch ------------------------------------


@pytest.mark.parametrize("lost", ["504", "html500", "drop"])
def test_a_lost_answer_without_dedupe_is_in_doubt_and_never_resent(
    project: Project, postmark: PostmarkFake, lost: str
) -> None:
    addresses = queue_and_subscribe(project, 500)
    postmark.after = {2: lost} if lost != "drop" else {2: "drop"}
    use_fake(project, postmark, batch_size=100, concurrency=1)
    postmark.after = {2: lost}
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output
    assert "200 deliveries are in doubt" in result.stderr  # calls 2 and 4 of 5
    assert "Traceback" not in result.output
    exactly_once(postmark, addresses)  # the provider took them: no second copy
    doubtful = in_doubt(project)
    assert len(doubtful) == 200
    assert statuses(project) == {"sent": 300, "in_doubt": 200}
    again = project.run("send", "--week", WEEK, "--yes")
    assert again.exit_code == 3
    exactly_once(postmark, addresses)


@pytest.mark.parametrize("lost", ["504", "html500", "drop"])
def test_a_lost_answer_with_dedupe_is_resent_under_its_key(
    project: Project, resend: ResendFake, lost: str
) -> None:
    addresses = queue_and_subscribe(project, 500)
    resend.after = {2: lost}
    use_fake(project, resend, batch_size=100, concurrency=1, max_attempts=5)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    exactly_once(resend, addresses)
    assert statuses(project) == {"sent": 500}


def test_a_2xx_that_is_not_json_stops_the_send_with_that_batch_in_doubt(
    project: Project, postmark: PostmarkFake
) -> None:
    addresses = queue_and_subscribe(project, 300)
    postmark.after = {2: "garbage"}
    use_fake(project, postmark, batch_size=100, concurrency=1)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 4, result.output
    assert "stopped: postmark: unexpected answer (HTTP 200)" in result.stderr
    assert "Traceback" not in result.output
    assert statuses(project) == {"sent": 100, "in_doubt": 100, "pending": 100}
    postmark.after = {}
    again = project.run("send", "--week", WEEK, "--yes")
    assert again.exit_code == 3, again.output
    exactly_once(postmark, addresses)


# ---- 3. a restarted sender with the same PID, or a sender gone on another host -------------------


def _pid_namespaces() -> bool:
    try:
        done = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _pid_namespaces(), reason="no PID namespaces here (unshare refused)")
def test_a_sender_killed_and_restarted_as_pid_1_leaves_nobody_behind(project: Project) -> None:
    addresses = queue_and_subscribe(project, 400)
    project.provider(rate_limit=200, batch_size=10, concurrency=2, lease_seconds=3)
    kills = 0
    for _ in range(4):
        proc = process(project, "send", "--week", WEEK, "--yes", pid1=True)
        time.sleep(0.8)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # unshare's child, PID 1, dies with it
            kills += 1
        proc.communicate(timeout=60)
    assert kills >= 3
    final = process(project, "send", "--week", WEEK, "--yes", pid1=True)
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    received = Counter(
        p.name for p in (project.dir / "outbox" / WEEK).glob("[0-9]*.eml")
    )  # one file per delivery: the outbox dedupes, so counts prove coverage
    assert len(received) == len(addresses)
    assert statuses(project) == {"sent": 400}
    pids = {r["pid"] for r in project.rows("runners")}
    assert pids == {1}, "every run was PID 1"


def test_claims_of_a_run_with_our_own_pid_are_taken_over_once_it_stops_beating(
    project: Project,
) -> None:
    # The same situation without namespaces: a run row that claims this very PID and host.
    addresses = queue_and_subscribe(project, 40)
    project.provider(batch_size=10, lease_seconds=3)
    factory = db.session_factory(project.engine)
    edition, _ = open_edition(factory, project.settings, IsoWeek.parse(WEEK))
    with db.transaction(factory) as session:
        dead = runners.start(session, "send", edition_id=edition.id)
        session.execute(
            update(Delivery)
            .where(Delivery.id <= 20)
            .values(status="claimed", claimed_by=dead, batch_key=f"{WEEK}/dead", claimed_at=None)
        )
    assert project.rows("runners")[0]["pid"] == os.getpid()
    started = time.monotonic()
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 2.5, "the dead run was given its grace"
    assert statuses(project) == {"sent": 40}
    files = list((project.dir / "outbox" / WEEK).glob("[0-9]*.eml"))
    assert len(files) == len(addresses)


def test_a_run_that_stops_beating_mid_send_is_covered_while_sending(
    project: Project, postmark: PostmarkFake
) -> None:
    # Another host's sender took two batches and went silent; this send covers them.
    addresses = queue_and_subscribe(project, 300)
    use_fake(project, postmark, batch_size=50, concurrency=1, lease_seconds=3, rate_limit=100)
    factory = db.session_factory(project.engine)
    edition, _ = open_edition(factory, project.settings, IsoWeek.parse(WEEK))
    with db.transaction(factory) as session:
        session.add(
            Runner(
                id="other-host-run",
                kind="send",
                host="other-host",
                pid=1,
                edition_id=edition.id,
                started_at=runners.clock(session),
                heartbeat_at=runners.clock(session),
            )
        )
        for n, key in ((0, "a"), (1, "b")):
            session.execute(
                update(Delivery)
                .where(Delivery.id > n * 50, Delivery.id <= (n + 1) * 50)
                .values(status="claimed", claimed_by="other-host-run", batch_key=f"{WEEK}/{key}")
            )
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output  # its two batches may have gone: reported
    assert "100 deliveries are in doubt" in result.stderr
    assert statuses(project) == {"sent": 200, "in_doubt": 100}
    assert len(postmark.counts()) == 200
    assert set(postmark.counts()) == set(addresses[100:])


# ---- 4. keys never name a process ----------------------------------------------------------------


def test_a_key_refused_as_reused_is_reported_never_taken_for_sent(
    project: Project, resend: ResendFake
) -> None:
    queue_and_subscribe(project, 20)
    use_fake(project, resend, batch_size=10, concurrency=1, lease_seconds=3)
    factory = db.session_factory(project.engine)
    edition, _ = open_edition(factory, project.settings, IsoWeek.parse(WEEK))
    with db.transaction(factory) as session:
        dead = runners.start(session, "send", edition_id=edition.id)
        runners.end(session, dead)
        session.execute(
            update(Delivery)
            .where(Delivery.id <= 10)
            .values(
                status="claimed",
                claimed_by=dead,
                batch_key=f"{WEEK}/reused",
                claimed_at=runners.clock(session),
            )
        )
    resend.keys[f"{WEEK}/reused"] = ("another payload", None)  # type: ignore[assignment]
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    reasons = {p["reason"] for p in shown["problems"]}
    assert reasons == {
        "in doubt: resend: HTTP 409 the batch key was used before with another body "
        "(invalid_idempotent_request)"
    }
    assert statuses(project) == {"in_doubt": 10, "sent": 10}


# ---- 5. the runner never drops an edition ------------------------------------------------------


def test_the_runner_records_alerts_and_retries_an_unfinished_edition(
    project: Project, postmark: PostmarkFake, sink: Sink
) -> None:
    queue_and_subscribe(project, 300)
    use_fake(project, postmark, batch_size=100, concurrency=1)
    alerts_to(project, sink)
    postmark.after = {1: "garbage"}
    now = [TUESDAY_0900]
    runner = WeeklyRunner(project.settings, project.engine, clock=lambda: now[0])
    runner.attempt(IsoWeek.parse(WEEK))
    (edition,) = project.rows("editions")
    assert edition["status"] == "sending"
    assert edition["error"].startswith("postmark: unexpected answer (HTTP 200)")
    assert any("Edition 2026-W48 is unfinished" in t for t in sink.texts())
    assert sink.pings() == ["start", "fail"]
    retry = runner.scheduler.get_job(RETRY_JOB_ID)
    assert retry.trigger.run_date == TUESDAY_0900 + timedelta(minutes=1)
    postmark.after = {}  # the provider is well again
    now[0] += timedelta(minutes=1)
    runner.attempt(IsoWeek.parse(WEEK))
    assert statuses(project) == {"sent": 200, "in_doubt": 100}
    assert runner.retries == {}
    assert sink.pings()[-2:] == ["start", "fail"], "in-doubt rows need a person"
    assert any("Edition 2026-W48 needs a look" in t for t in sink.texts())


def test_the_runner_gives_up_when_the_window_closes_and_says_so(
    project: Project, postmark: PostmarkFake, sink: Sink
) -> None:
    queue_and_subscribe(project, 10)
    use_fake(project, postmark)
    alerts_to(project, sink)
    project.env["NEWSLETTER_API_KEY"] = "revoked-key-0000"
    now = [TUESDAY_0900 + timedelta(hours=47, minutes=59, seconds=30)]
    runner = WeeklyRunner(project.settings, project.engine, clock=lambda: now[0])
    runner.attempt(IsoWeek.parse(WEEK))
    assert runner.scheduler.get_job(RETRY_JOB_ID) is None
    assert any("Edition 2026-W48 was given up" in t for t in sink.texts())
    assert "revoked-key-0000" not in json.dumps(sink.texts())


def test_a_locked_database_is_one_line_for_send_and_an_alert_for_the_runner(
    project: Project, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_and_subscribe(project, 5)
    alerts_to(project, sink)
    if project.engine.url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's lock")
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    locker = sqlite3.connect(project.engine.url.database or "")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        result = project.run("send", "--week", WEEK, "--yes")
        assert result.exit_code == 1
        assert result.stderr.strip() == "error: the database failed: database is locked"
        engine = db.make_engine(project.engine.url)
        outcome = run_week(project.settings, engine, TUESDAY_0900)
        engine.dispose()
    finally:
        locker.rollback()
        locker.close()
    assert outcome.error == "the database failed: database is locked"
    assert sink.texts() == [
        "[Customer Service Tip of the Week] Edition 2026-W48 could not start\n"
        "the database failed: database is locked"
    ]


@pytest.mark.slow
def test_postgresql_connections_terminated_mid_send_stop_it_in_one_line(project: Project) -> None:
    if project.engine.url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL's connections")
    addresses = queue_and_subscribe(project, 400)
    project.provider(rate_limit=100, batch_size=10, concurrency=2, lease_seconds=3)
    url = str(project.engine.url.render_as_string(hide_password=False))
    project.config.write_text(
        project.config.read_text().replace(url, url + "&application_name=victim")
    )
    proc = process(project, "send", "--week", WEEK, "--yes")
    wait_until(lambda: len(list((project.dir / "outbox" / WEEK).glob("[0-9]*.eml"))) >= 50)
    with project.engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'victim'"
            )
        )
        conn.commit()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    assert "Traceback" not in err
    assert "stopped: the database failed:" in err
    again = project.run("send", "--week", WEEK, "--yes")
    assert again.exit_code == 0, again.output
    assert statuses(project) == {"sent": 400}
    assert len(list((project.dir / "outbox" / WEEK).glob("[0-9]*.eml"))) == len(addresses)


# ---- 6. a message that cannot be built fails alone ---------------------------------------------


def test_a_name_with_a_line_break_fails_that_delivery_alone(project: Project) -> None:
    addresses = queue_and_subscribe(project, 30)
    with project.engine.begin() as conn:  # as an older version let it in
        conn.execute(
            update(Subscriber)
            .where(Subscriber.email == "reader3@example.com")
            .values(first_name="Evil\r\nBcc: everyone@example.net")
        )
    project.provider(batch_size=10)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output
    assert "1 deliveries failed" in result.stderr
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    (problem,) = shown["problems"]
    assert problem["email"] == "reader3@example.com"
    assert "line break or control character" in problem["reason"]
    assert statuses(project) == {"sent": 29, "failed": 1}
    files = list((project.dir / "outbox" / WEEK).glob("[0-9]*.eml"))
    assert len(files) == len(addresses) - 1
    assert project.run("send", "--week", WEEK, "--yes").exit_code == 3, "a rerun does not crash either"


@pytest.mark.parametrize("key", ["from_name", "subject", "name"])
def test_header_values_with_line_breaks_are_refused_when_the_config_loads(
    project: Project, key: str
) -> None:
    project.config.write_text(
        project.config.read_text().replace(
            "[newsletter]\n", f'[newsletter]\n{key} = "Tips\\r\\nBcc: all@example.net"\n'
        )
    )
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: [newsletter] {key}: must be one line without control characters "
        "(it goes into an email header)"
    )


# ---- 7. an unsubscribe is honoured on a takeover --------------------------------------------------


def test_a_takeover_skips_who_unsubscribed_since_the_claim(
    project: Project, resend: ResendFake
) -> None:
    queue_and_subscribe(project, 20)
    use_fake(project, resend, batch_size=10, concurrency=1)
    factory = db.session_factory(project.engine)
    edition, _ = open_edition(factory, project.settings, IsoWeek.parse(WEEK))
    with db.transaction(factory) as session:
        dead = runners.start(session, "send", edition_id=edition.id)
        runners.end(session, dead)
        session.execute(
            update(Delivery)
            .where(Delivery.id <= 10)
            .values(
                status="claimed",
                claimed_by=dead,
                batch_key=f"{WEEK}/x",
                claimed_at=runners.clock(session),
            )
        )
    assert project.run("subscribers", "unsubscribe", "reader4@example.com").exit_code == 0
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    assert "reader4@example.com" not in resend.counts()
    assert statuses(project) == {"sent": 19, "skipped": 1}


# ---- 8. alerts that do not depend on the failing provider; health you can trust ---------------


def test_a_failing_provider_cannot_silence_the_alerts(
    project: Project, postmark: PostmarkFake, sink: Sink
) -> None:
    queue_and_subscribe(project, 20)
    use_fake(project, postmark)
    alerts_to(project, sink)
    project.env["NEWSLETTER_API_KEY"] = "wrong-key-4242"
    outcome = run_week(project.settings, project.engine, TUESDAY_0900)
    assert not outcome.finished
    assert sink.pings() == ["start", "fail"]
    (text_,) = sink.texts()
    assert text_.startswith("[Customer Service Tip of the Week] Edition 2026-W48 is unfinished")
    assert "20 pending" in text_ and "HTTP 401" in text_
    with project.session() as session:
        (row,) = session.scalars(select(Alert)).all()
    assert row.kind == "unfinished"
    assert row.channels["email"].startswith("failed: refused") or row.channels["email"].startswith(
        "failed:"
    )
    assert row.channels["webhook"] == "sent"


def test_status_lists_unfinished_editions_and_check_fails_for_monitors(
    project: Project, postmark: PostmarkFake
) -> None:
    queue_and_subscribe(project, 20)
    use_fake(project, postmark)
    project.env["NEWSLETTER_API_KEY"] = "wrong-key-4242"
    assert project.run("send", "--week", "2026-W46", "--yes").exit_code == 4
    with project.engine.begin() as conn:  # it has been unfinished for a while
        conn.execute(update(Edition).values(created_at=datetime.now(UTC) - timedelta(days=3)))
    shown = project.run("status")
    assert "unfinished:  2026-W46 Delight Your Customers: 20 pending" in shown.stdout
    assert "last error: postmark: HTTP 401" in shown.stdout
    check = project.run("status", "--check")
    assert check.exit_code == 1
    assert "unhealthy: runner: no `newsletter run` has ever run against this database" in (
        check.stderr
    )
    assert "unhealthy: editions: unfinished more than 120 min after the slot: 2026-W46" in (
        check.stderr
    )
    report = json.loads(project.run("status", "--json").stdout)
    assert report["unfinished"][0]["counts"]["pending"] == 20


def test_healthz_deep_says_what_status_check_says(project: Project) -> None:
    from newsletter.web import create_app

    app = create_app(project.settings, project.engine)
    with TestClient(app, base_url="https://tips.example.com") as web:
        assert web.get("/healthz").text == "ok"
        deep = web.get("/healthz?deep=1")
        assert deep.status_code == 503
        checks = {c["name"]: c["ok"] for c in deep.json()["checks"]}
        assert checks == {"runner": False, "editions": True, "queue": False}
        with db.transaction(db.session_factory(project.engine)) as session:
            runners.start(session, "scheduler")
        queue_and_subscribe(project, 1)
        assert web.get("/healthz?deep=1").json()["ok"] is True


def test_a_missed_week_is_alerted(project: Project, sink: Sink) -> None:
    queue_and_subscribe(project, 3)
    alerts_to(project, sink)
    runner = WeeklyRunner(
        project.settings, project.engine, clock=lambda: TUESDAY_0900 + timedelta(hours=60)
    )
    runner.stop.set()  # only the start-up decision
    runner.start()
    (message,) = sink.texts()
    assert "Week 2026-W48 was missed" in message
    assert sink.pings() == ["fail"]
    assert project.rows("editions") == []


# ---- 9. a provider that echoes the key ----------------------------------------------------------


@pytest.mark.parametrize("fake_type", [PostmarkFake, SendGridFake, MailgunFake, ResendFake])
def test_a_key_echoed_by_the_provider_is_never_shown_stored_or_alerted(
    project: Project,
    sink: Sink,
    fake_type: type[Fake],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "sk-live-4f9a8b7c6d5e"
    fake = fake_type().start()
    try:
        fake.echo_secrets = True
        queue_and_subscribe(project, 5)
        use_fake(project, fake)
        alerts_to(project, sink)
        project.env["NEWSLETTER_API_KEY"] = secret
        caplog.set_level("DEBUG")
        result = project.run("send", "--week", WEEK, "--yes")
        check = project.run("providers", "check")
        run_week(project.settings, project.engine, TUESDAY_0900)
    finally:
        fake.stop()
    assert result.exit_code == 4
    assert "***" in result.stderr or "Invalid token" not in result.stderr
    everything = (
        result.output
        + check.output
        + caplog.text
        + json.dumps(sink.texts())
        + json.dumps(project.snapshot(), default=str)
        + json.dumps(project.rows("alerts"), default=str)
        + json.dumps(project.rows("editions"), default=str)
    )
    import base64

    for form in (
        secret,
        base64.b64encode(f"api:{secret}".encode()).decode(),
        base64.b64encode(secret.encode()).decode(),
    ):
        assert form not in everything


# ---- the kill -9 loop, against a provider that dedupes and a gateway that loses answers ----------


@pytest.mark.slow
def test_kill_9_loop_with_an_idempotent_provider_behind_a_lossy_gateway(
    project: Project, resend: ResendFake
) -> None:
    addresses = queue_and_subscribe(project, 400)
    resend.after = {4: "504"}  # every 4th call: taken, then the gateway answers 504
    use_fake(
        project,
        resend,
        batch_size=10,
        concurrency=2,
        rate_limit=200,
        lease_seconds=3,
        max_attempts=20,
    )
    kills = 0
    codes = []
    for n in range(8):
        proc = process(project, "send", "--week", WEEK, "--yes")
        time.sleep(0.3 + 0.1 * n)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _out, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        assert "Traceback" not in err
    assert kills >= 5
    assert set(codes) <= {-9, 0, 4}
    final = process(project, "send", "--week", WEEK, "--yes")
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    exactly_once(resend, addresses)
    assert statuses(project) == {"sent": 400}, "never a row left claimed"
    with project.session() as session:
        assert (
            session.scalar(select(Delivery.id).where(Delivery.status == "claimed").limit(1)) is None
        )
