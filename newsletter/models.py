"""The database tables, as SQLAlchemy 2.x typed declarative models.

Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL.
Every schema change here needs an Alembic revision in ``migrations/versions`` (a test runs
Alembic's comparison and fails on drift).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
EVENT_KINDS = (
    "subscribed",
    "confirmed",
    "unsubscribed",
    "resubscribed",
    "bounced",
    "complained",
    "imported",
    "removed",
    "suppressed",
    "erased",
)
SUPPRESSION_REASONS = ("unsubscribed", "bounced", "complained", "erased", "imported")
MAIL_KINDS = ("confirm", "welcome")
MAIL_STATUSES = ("queued", "sending", "sent", "failed")
TIP_STATUSES = ("queued", "sent", "skipped", "archived")
EDITION_STATUSES = ("sending", "sent", "failed")
DELIVERY_STATUSES = ("pending", "claimed", "sent", "failed", "in_doubt", "skipped")
# Room for "admin:" and the longest address (320): where a change came from.
VIA_LENGTH = 400


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always reads back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC text that sorts correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        # The dashboard's weekly growth counts: ranges of created_at (who joined, by week) and
        # of unsubscribed_at per stopped status (who left), read from the index alone.
        Index("ix_subscribers_created_at_status", "created_at", "status"),
        Index("ix_subscribers_status_unsubscribed_at", "status", "unsubscribed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (trimmed, local part lower-cased, domain in IDNA ASCII form), so one
    # mailbox is one row whatever the spelling.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    # Who or what added them: "cli", "web", "import", "admin:<operator's address>".
    source: Mapped[str] = mapped_column(String(VIA_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The consent record: when they opted in (here or at the list's previous home), when they
    # confirmed, and any evidence that came with it (e.g. Mailchimp's opt-in IP).
    subscribed_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    consent: Mapped[str] = mapped_column(Text, default="")


class SubscriberEvent(Base):
    """Append-only log of every change of a subscriber's status."""

    __tablename__ = "subscriber_events"
    # What each edition caused (unsubscribes, bounces, complaints), counted per edition.
    __table_args__ = (Index("ix_subscriber_events_edition_id_kind", "edition_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # SET NULL: `subscribers remove` forgets the subscriber but keeps the log;
    # `remove --erase` deletes these rows too.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    via: Mapped[str] = mapped_column(String(VIA_LENGTH))
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, default="")


class Tip(Base):
    """A tip: queued, sent, skipped, or archived (a back issue from an old site, never emailed).

    On SQLite a full-text index (``tips_fts``, FTS5) and on PostgreSQL a ``search_vector``
    column with a GIN index follow every change; both are made by migration 0005 only and are
    searched through ``archive.search`` (see ``db.include_in_migrations``).
    """

    __tablename__ = "tips"
    __table_args__ = (Index("ix_tips_status_published_on", "status", "published_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body_md: Mapped[str] = mapped_column(Text)
    takeaway: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 1..n for queued tips, without gaps; NULL once a tip is sent or skipped.
    position: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    source_path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The ISO week a queued tip is pinned to (``tips pin``); at most one tip per week.
    pinned_week: Mapped[str | None] = mapped_column(String(10), index=True, unique=True)
    # The date the tip shows in the archive: an archived tip's original date; a sent tip's
    # send date in the configured zone, written with its edition (the date its email shows).
    published_on: Mapped[date | None] = mapped_column(Date)
    # Set by every ORM insert and update (``onupdate``): the web app's page cache compares the
    # newest of these, with the count and the highest id, to see that the archive changed.
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class Edition(Base):
    __tablename__ = "editions"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)  # ISO week, e.g. 2026-W48
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="sending")
    recipients: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The last failure of a send of this edition (the weekly runner retries it), for status.
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None]
    # When the edition went out: set when it is created, in the transaction that renders its
    # date line, so the email, the archive, the feed and `editions list` agree. Always set
    # (migration 0005 copies created_at into older rows); nullable only because SQLite cannot
    # add NOT NULL to an existing table without copying it.
    sent_at: Mapped[datetime | None] = mapped_column(default=utcnow)


class Delivery(Base):
    """One row per edition and recipient: the ledger that makes sends exactly-once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id"),
        # Claims take the lowest pending ids of an edition: with the id in the index that is
        # an index range scan of one batch at any depth of the queue, never a sort.
        Index("ix_deliveries_edition_id_status_id", "edition_id", "status", "id"),
        # One subscriber's deliveries (their history, an erasure) without reading every row.
        Index("ix_deliveries_subscriber_id", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # The run (``runners.id``) holding the claim; a claim is stale when that run stops.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # The batch's identity, minted once per batch (``<week>/<uuid4>``) and kept for every
    # retry and takeover of that batch, so a provider's idempotency key always means it.
    batch_key: Mapped[str | None] = mapped_column(String(200))
    # When the batch was minted: an idempotency key outlives nobody's memory forever.
    claimed_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class ProviderEvent(Base):
    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(320), default="", index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


RUNNER_KINDS = ("scheduler", "send")


class Runner(Base):
    """A run of a process that must be seen alive: the scheduler, or one send of an edition.

    Liveness is by run, never by PID (a restarted container is PID 1 again): a run id is a
    random UUID, and a run is alive while it writes its heartbeat and has not ended.
    """

    __tablename__ = "runners"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="send")
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(default=0)
    edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    next_run_at: Mapped[datetime | None]


class RateBucket(Base):
    """The shared rate limit of one provider (see ``ratelimit``): when its next message may go."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_at: Mapped[datetime]


class Alert(Base):
    """Every alert raised, and what each channel made of it (status, the dashboard)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id", ondelete="SET NULL"))
    # channel -> "sent" | "failed: <why>" | "off"
    channels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Suppression(Base):
    """An address that must never be mailed again unless the person asks: kept as a keyed
    hash (HMAC of the normalised address), never as the address itself."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    via: Mapped[str] = mapped_column(String(VIA_LENGTH), default="")


class OutgoingMail(Base):
    """A transactional email (signup confirmation, welcome) queued by the web request and sent
    by the web process's background sender, so no request waits on the provider."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class SignupAttempt(Base):
    """One signup POST from one client (a keyed hash of its IP): the per-IP limit, shared by
    every web process."""

    __tablename__ = "signup_attempts"
    __table_args__ = (Index("ix_signup_attempts_client_at", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminUser(Base):
    """An operator who may use the dashboard (``newsletter admin add``)."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # Argon2id, in the PHC string format (parameters and salt inside).
    password_hash: Mapped[str] = mapped_column(String(300))
    # Random, in every session cookie: a new password (or a new account with a reused id)
    # gets a new one, so every earlier session stops working.
    session_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class AdminLoginAttempt(Base):
    """One try at the dashboard's login: keyed hashes of the account name and the client's
    address (no address is stored), for the limits shared by every web process."""

    __tablename__ = "admin_login_attempts"
    __table_args__ = (
        Index("ix_admin_login_attempts_account_at", "account", "at"),
        Index("ix_admin_login_attempts_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


class EditionStats(Base):
    """A settled edition's delivery counts (and its runs and timing), kept so the dashboard
    and /metrics need not count millions of delivery rows on every request.

    Only ``reports.py`` writes here, and only for an edition with nothing pending or claimed;
    it checks a snapshot against the live counts of the rare statuses before trusting it (see
    ``reports``).
    """

    __tablename__ = "edition_stats"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Filled when a report page first needs them (None: not counted yet).
    runs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    first_sent_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
