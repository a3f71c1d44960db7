"""A newsletter with a history, written in bulk: subscribers who joined (and some who left)
over the weeks, one edition a week with a delivery row per subscriber of the day, what each
edition caused, the runs that sent them, a few alerts, and tips still queued.

For the dashboard's browser test (a few thousand subscribers, a dozen editions) and its bench
(100,000 subscribers, 100 editions). Rows go in through the driver's bulk path and
INSERT … SELECT, the way an import and a send write them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Connection, Engine, text

from newsletter import db
from newsletter.listfiles import EXPORT_COLUMNS
from newsletter.models import UTCDateTime
from newsletter.weeks import IsoWeek

ToDb = Callable[[datetime | None], object]
FIRST = ("Ann", "Bob", "Chen", "Dana", "Eve", "Farid", "Gita", "Hugo", "Ines", "Jon", "Kai", "Lena")
LAST = ("Lee", "Smith", "Garcia", "Okafor", "Novak", "Tanaka", "Brown", "Rossi", "Khan", "Weber")


@dataclass(frozen=True)
class Seeded:
    """What was written: the weeks of the editions, oldest first, and the queued tips' slugs."""

    weeks: list[str]
    queued: list[str]
    subscribers: int


def seed(
    engine: Engine,
    *,
    subscribers: int,
    editions: int,
    queued: int = 6,
    now: datetime,
    seed_value: int = 15,
) -> Seeded:
    """Write the history (into a migrated, empty database) up to the week before ``now``."""
    rng = random.Random(seed_value)
    last = IsoWeek.of((now - timedelta(days=7)).date())
    weeks = [last]
    while len(weeks) < editions:
        weeks.append(IsoWeek.of(weeks[-1].day("mon") - timedelta(days=7)))
    weeks.reverse()
    moments = [_at(w) for w in weeks]
    start = moments[0] - timedelta(weeks=8)
    span = (now - start).total_seconds()
    with engine.begin() as conn:
        to_db = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)

        def v(moment: datetime | None) -> object:
            return None if moment is None else (to_db(moment) if to_db else moment)

        rows = []
        for i in range(subscribers):
            # More people join later: the list grows.
            created = start + timedelta(seconds=span * (rng.random() ** 0.7))
            status, left = "active", None
            roll = rng.random()
            if roll < 0.06:
                status = "unsubscribed"
            elif roll < 0.075:
                status = "bounced"
            elif roll < 0.08:
                status = "complained"
            elif roll < 0.09:
                status = "pending"
            if status in ("unsubscribed", "bounced", "complained"):
                left = created + timedelta(days=rng.randint(1, 300), seconds=rng.randint(0, 86399))
                if left > now:  # not yet: still with us
                    status, left = "active", None
            first, last_name = rng.choice(FIRST), rng.choice(LAST)
            rows.append(
                (
                    f"{first.lower()}.{last_name.lower()}{i}@example.com",
                    first,
                    last_name,
                    status,
                    "import",
                    v(created),
                    v(created),
                    None if status == "pending" else v(created),
                    v(left),
                    "",
                )
            )
        db.executemany(conn, ("subscribers", EXPORT_COLUMNS), rows)
        # The log an import writes: one row per subscriber.
        conn.execute(
            text(
                "INSERT INTO subscriber_events (subscriber_id, kind, at, via, detail) "
                "SELECT id, 'imported', created_at, 'import', status FROM subscribers"
            )
        )
        _tips_and_editions(conn, weeks, moments, queued, v)
        run_ids = _runs(conn, weeks, moments, v)
        for n, (week, moment) in enumerate(zip(weeks, moments, strict=True), start=1):
            _deliveries(conn, n, week, moment, run_ids[str(week)], v)
        _caused(conn, weeks, moments, v)
        _alerts(conn, weeks, moments, v)
    return Seeded(
        [str(w) for w in weeks], [f"queued-tip-{k}" for k in range(1, queued + 1)], subscribers
    )


def _at(week: IsoWeek) -> datetime:
    return datetime.combine(week.day("tue"), time(14, 0), UTC)


def _tips_and_editions(
    conn: Connection, weeks: list[IsoWeek], moments: list[datetime], queued: int, v: ToDb
) -> None:
    sql = text(
        "INSERT INTO tips (slug, title, body_md, takeaway, categories, position, status, "
        "source_path, created_at, published_on) VALUES (:slug, :title, :body, '', :cats, "
        ":position, :status, '', :created, :published)"
    )
    for n, (week, moment) in enumerate(zip(weeks, moments, strict=True), start=1):
        conn.execute(
            sql,
            {
                "slug": f"sent-tip-{n}",
                "title": f"Sent Tip Number {n}",
                "body": f"What we learned in week {week}.\n",
                "cats": '["service"]',
                "position": None,
                "status": "sent",
                "created": v(moment - timedelta(days=30)),
                "published": moment.date(),
            },
        )
    titles = (
        "Listen First",
        "The Angry Caller",
        "Own the Mistake",
        "Say Their Name",
        "Follow Up",
        "Small Thanks",
    )
    for k in range(1, queued + 1):
        conn.execute(
            sql,
            {
                "slug": f"queued-tip-{k}",
                "title": titles[(k - 1) % len(titles)] + ("" if k <= len(titles) else f" {k}"),
                "body": "Customers remember how you made them feel.\n\n- **Listen**: first.\n",
                "cats": '["empathy"]',
                "position": k,
                "status": "queued",
                "created": v(moments[-1]),
                "published": None,
            },
        )
    edition = text(
        "INSERT INTO editions (week, tip_id, subject, html, text, status, recipients, created_at, "
        "finished_at, sent_at) SELECT :week, id, :subject, '<p>stored</p>', 'stored', 'sent', 0, "
        ":created, :finished, :created FROM tips WHERE slug = :slug"
    )
    for n, (week, moment) in enumerate(zip(weeks, moments, strict=True), start=1):
        conn.execute(
            edition,
            {
                "week": str(week),
                "subject": f"Sent Tip Number {n} | Customer Service Tip of the Week",
                "created": v(moment),
                "finished": v(moment + timedelta(minutes=20)),
                "slug": f"sent-tip-{n}",
            },
        )


def _runs(
    conn: Connection, weeks: list[IsoWeek], moments: list[datetime], v: ToDb
) -> dict[str, list[str]]:
    """One sending run per edition; every fourth edition was shared by two machines."""
    found: dict[str, list[str]] = {}
    sql = text(
        "INSERT INTO runners (id, kind, host, pid, edition_id, started_at, heartbeat_at, ended_at) "
        "SELECT :id, 'send', :host, :pid, id, :at, :end, :end FROM editions WHERE week = :week"
    )
    for n, (week, moment) in enumerate(zip(weeks, moments, strict=True)):
        ids = [uuid.uuid4().hex for _ in range(2 if n % 4 == 3 else 1)]
        for k, run_id in enumerate(ids):
            conn.execute(
                sql,
                {
                    "id": run_id,
                    "host": f"sender-{k + 1}",
                    "pid": 4000 + n,
                    "at": v(moment),
                    "end": v(moment + timedelta(minutes=20)),
                    "week": str(week),
                },
            )
        found[str(week)] = ids
    return found


def _deliveries(
    conn: Connection, n: int, week: IsoWeek, moment: datetime, runs: list[str], v: ToDb
) -> None:
    """Every subscriber active at the send: mostly sent, a few failed, a few in doubt."""
    second = runs[-1]
    conn.execute(
        text(
            "INSERT INTO deliveries (edition_id, subscriber_id, status, attempts, claimed_by, "
            "provider_message_id, error, sent_at) "
            "SELECT e.id, s.id, "
            "CASE WHEN mod(s.id + :n, 211) = 0 THEN 'failed' "
            "WHEN mod(s.id + :n, 997) = 0 THEN 'in_doubt' ELSE 'sent' END, 1, "
            "CASE WHEN mod(s.id, 2) = 0 THEN :first ELSE :second END, "
            "'msg-' || :week || '-' || s.id, "
            "CASE WHEN mod(s.id + :n, 211) = 0 THEN '422: inactive recipient' "
            "WHEN mod(s.id + :n, 997) = 0 THEN 'the answer was lost' END, "
            "CASE WHEN mod(s.id + :n, 211) = 0 OR mod(s.id + :n, 997) = 0 THEN NULL ELSE :sent END "
            "FROM editions e, subscribers s WHERE e.week = :week AND s.created_at < :at "
            "AND s.status <> 'pending' AND (s.unsubscribed_at IS NULL OR s.unsubscribed_at > :at)"
        ),
        {
            "n": n,
            "first": runs[0],
            "second": second,
            "week": str(week),
            "sent": v(moment + timedelta(minutes=5)),
            "at": v(moment),
        },
    )
    conn.execute(
        text(
            "UPDATE editions SET recipients = (SELECT count(*) FROM deliveries WHERE "
            "deliveries.edition_id = editions.id) WHERE week = :week"
        ),
        {"week": str(week)},
    )


def _caused(conn: Connection, weeks: list[IsoWeek], moments: list[datetime], v: ToDb) -> None:
    """Who left, in the log: with the edition they left from (the one before they left)."""
    for week, moment, following in zip(weeks, moments, [*moments[1:], None], strict=True):
        until = following or moment + timedelta(days=7)
        conn.execute(
            text(
                "INSERT INTO subscriber_events (subscriber_id, kind, at, via, edition_id, detail) "
                "SELECT s.id, s.status, s.unsubscribed_at, CASE s.status WHEN 'unsubscribed' "
                "THEN 'one-click' ELSE 'webhook:postmark' END, e.id, '' "
                "FROM subscribers s, editions e WHERE e.week = :week AND s.status IN "
                "('unsubscribed', 'bounced', 'complained') AND s.unsubscribed_at >= :lo "
                "AND s.unsubscribed_at < :hi"
            ),
            {"week": str(week), "lo": v(moment), "hi": v(until)},
        )
    conn.execute(
        text(
            "INSERT INTO provider_events (provider, event_id, kind, email, provider_message_id, "
            "payload, received_at) SELECT 'postmark', 'evt-' || s.id, s.status, s.email, NULL, "
            "'{}', s.unsubscribed_at FROM subscribers s WHERE s.status IN ('bounced', 'complained')"
        )
    )


def _alerts(conn: Connection, weeks: list[IsoWeek], moments: list[datetime], v: ToDb) -> None:
    sql = text(
        "INSERT INTO alerts (at, kind, subject, body, channels) VALUES (:at, :kind, :subject, "
        ":body, '{}')"
    )
    for week, moment in list(zip(weeks, moments, strict=True))[-2:]:
        conn.execute(
            sql,
            {
                "at": v(moment + timedelta(minutes=21)),
                "kind": "troubled",
                "subject": f"Edition {week} needs a look",
                "body": f"failed and in-doubt deliveries: `newsletter editions show {week}`",
            },
        )
