"""Several senders on one edition, on PostgreSQL: the work shared, one rate limit, a death.

These run only against PostgreSQL (`NEWSLETTER_TEST_DATABASE_URL`, as `.ci/run` sets it): on
SQLite `send --worker` is refused (and that refusal is tested here on both).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from newsletter import db, ledger
from newsletter.editions import open_edition
from newsletter.weeks import IsoWeek
from tests.conftest import Project, queue_and_subscribe, use_fake
from tests.dashboard import dashboard, make_admin
from tests.fakes.postmark import PostmarkFake

WEEK = "2026-W48"


def postgresql(project: Project) -> None:
    if project.engine.url.get_backend_name() != "postgresql":
        pytest.skip("several workers need PostgreSQL (set NEWSLETTER_TEST_DATABASE_URL)")


@pytest.fixture
def postmark() -> Iterator[PostmarkFake]:
    fake = PostmarkFake().start()
    yield fake
    fake.stop()


def workers(project: Project, n: int, *extra: str) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "newsletter", "send", "--week", WEEK, "--worker", *extra],
            cwd=project.dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]


def start_edition(project: Project) -> None:
    open_edition(db.session_factory(project.engine), project.settings, IsoWeek.parse(WEEK))


def statuses(project: Project) -> dict[str, int]:
    with project.engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status")).all()
        )


def test_a_worker_waits_only_as_long_as_asked(project: Project) -> None:
    postgresql(project)
    queue_and_subscribe(project, 3)
    started = time.monotonic()
    result = project.run("send", "--week", WEEK, "--worker", "--wait", "2")
    assert result.exit_code == 1
    assert 2 <= time.monotonic() - started < 10
    assert result.stderr.strip() == (
        f"error: no edition for {WEEK} is being sent (waited 2 s): start one with "
        "`newsletter send` or `newsletter run`"
    )


def test_sqlite_refuses_workers_in_one_line(project: Project) -> None:
    if project.engine.url.get_backend_name() != "sqlite":
        pytest.skip("the SQLite refusal")
    queue_and_subscribe(project, 3)
    start_edition(project)
    result = project.run("send", "--week", WEEK, "--worker")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: --worker needs PostgreSQL")


@pytest.mark.slow
def test_three_workers_share_an_edition_and_each_subscriber_gets_one(
    project: Project, postmark: PostmarkFake
) -> None:
    postgresql(project)
    addresses = queue_and_subscribe(project, 20_000)
    use_fake(project, postmark, batch_size=200, concurrency=2, lease_seconds=5)
    # Two workers wait for the edition; a plain send starts it (as the scheduler would).
    procs = workers(project, 2, "--wait", "120")
    time.sleep(1.5)
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    procs.append(
        subprocess.Popen(
            [sys.executable, "-m", "newsletter", "send", "--week", WEEK, "--yes"],
            cwd=project.dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1][-500:] for o in outputs]
    counts = postmark.counts()
    assert len(counts) == len(addresses) and set(counts.values()) == {1}
    assert statuses(project) == {"sent": 20_000}
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    assert len(shown["workers"]) == 3 and all(w["sent"] > 0 for w in shown["workers"])
    assert sum(w["sent"] for w in shown["workers"]) == 20_000
    assert all(w["rate_per_second"] > 0 for w in shown["workers"]), "each sender's own rate"
    make_admin(project)
    with dashboard(project) as dash:  # the edition's report in the dashboard shows the same
        dash.login()
        page = dash.get(f"/admin/editions/{WEEK}").text
    each = page[page.index('id="runs"') :]
    for w in shown["workers"]:
        row = each[each.index(f"<code>{w['run'][:8]}</code>") :]
        row = row[: row.index("</tr>")]
        assert f">{w['sent']:,}<" in row
        assert re.search(r'<td class="n">[\d,]+</td>$', row), "its messages a second"


@pytest.mark.slow
def test_a_worker_killed_mid_send_leaves_nobody_out(
    project: Project, postmark: PostmarkFake
) -> None:
    postgresql(project)
    addresses = queue_and_subscribe(project, 20_000)
    postmark.delay = 0.02
    use_fake(project, postmark, batch_size=100, concurrency=2, lease_seconds=3)
    start_edition(project)
    procs = workers(project, 3)
    time.sleep(2.0)
    procs[0].send_signal(signal.SIGKILL)
    outputs = [p.communicate(timeout=300) for p in procs]
    assert procs[0].returncode == -9
    assert all(p.returncode in (0, 3) for p in procs[1:]), [o[1][-500:] for o in outputs]
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    doubtful = {p["email"] for p in shown["problems"] if p["status"] == "in_doubt"}
    counts = postmark.counts()
    assert set(counts) | doubtful == set(addresses), "everyone got it or is reported"
    assert {a for a, n in counts.items() if n > 1} <= doubtful
    assert len(doubtful) <= 2 * 100, "at most the killed worker's batches in flight"
    assert statuses(project).get("claimed", 0) == 0
    assert statuses(project).get("pending", 0) == 0


@pytest.mark.slow
def test_one_rate_limit_holds_across_three_workers(
    project: Project, postmark: PostmarkFake
) -> None:
    postgresql(project)
    queue_and_subscribe(project, 1_800)
    use_fake(project, postmark, batch_size=30, concurrency=2, rate_limit=300)
    start_edition(project)
    procs = workers(project, 3)
    for p in procs:
        p.communicate(timeout=120)
    assert statuses(project) == {"sent": 1_800}
    # The rate the provider saw, from its first batch to its last (three workers each on a
    # limit of their own would go at 900 a second).
    (first, _), (last, _) = postmark.taken_at[0], postmark.taken_at[-1]
    rate = (1_800 - postmark.taken_at[0][1]) / (last - first)
    assert 300 * 0.90 <= rate <= 300 * 1.10, rate


def test_claims_stay_one_batch_deep_at_any_depth(project: Project) -> None:
    postgresql(project)
    queue_and_subscribe(project, 20_000)
    start_edition(project)
    with project.engine.connect() as conn:
        # Deep into the send: most rows are behind us.
        conn.execute(text("UPDATE deliveries SET status = 'sent' WHERE id <= 19000"))
        conn.execute(text("ANALYZE deliveries"))
        statement = ledger.pick_pending(1, 500).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True}
        )
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {statement}")))
    assert "Sort" not in plan, plan
    assert "ix_deliveries_edition_id_status_id" in plan, plan
