"""consent: names split, suppression list, queued transactional mail, signup attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models
from newsletter.errors import InputError
from newsletter.names import split_name
from newsletter.subscribers import normalise_email

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
subscribers = sa.table(
    "subscribers",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("name", sa.String),
    sa.column("first_name", sa.String),
    sa.column("last_name", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("last_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("subscribed_at", newsletter.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("consent", sa.Text(), nullable=False, server_default=""))
    _split_names_and_canonicalise()
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("name")
        for column in ("first_name", "last_name", "consent"):
            batch_op.alter_column(column, server_default=None)
    op.execute("UPDATE subscribers SET subscribed_at = created_at")
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("digest", name=op.f("uq_suppressions_digest")),
    )
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_until", newsletter.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_outgoing_mail_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )
    op.create_index("ix_outgoing_mail_status_id", "outgoing_mail", ["status", "id"], unique=False)
    op.create_index(
        op.f("ix_outgoing_mail_subscriber_id"), "outgoing_mail", ["subscriber_id"], unique=False
    )
    op.create_table(
        "signup_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attempts")),
    )
    op.create_index(
        "ix_signup_attempts_client_at", "signup_attempts", ["client", "at"], unique=False
    )


def _split_names_and_canonicalise() -> None:
    """Names split into first/last; addresses to one canonical spelling (IDNA domain).

    An address whose canonical spelling another row already has is left as it was and
    logged: merging two subscribers' histories is a decision for the operator.
    """
    conn = op.get_bind()
    rows = conn.execute(sa.select(subscribers.c.id, subscribers.c.email, subscribers.c.name)).all()
    taken = {email for _, email, _ in rows}
    for id_, email, name in rows:
        first, last = split_name(name or "")
        values = {"first_name": first, "last_name": last}
        try:
            canonical = normalise_email(email)
        except InputError:
            canonical = email
        if canonical != email:
            if canonical in taken:
                log.warning(
                    "subscriber %s: %s is also stored as %s; not merged", id_, email, canonical
                )
            else:
                values["email"] = canonical
                taken.add(canonical)
        conn.execute(sa.update(subscribers).where(subscribers.c.id == id_).values(**values))


def downgrade() -> None:
    op.drop_index("ix_signup_attempts_client_at", table_name="signup_attempts")
    op.drop_table("signup_attempts")
    op.drop_index(op.f("ix_outgoing_mail_subscriber_id"), table_name="outgoing_mail")
    op.drop_index("ix_outgoing_mail_status_id", table_name="outgoing_mail")
    op.drop_table("outgoing_mail")
    op.drop_table("suppressions")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.String(length=200), nullable=False, server_default="")
        )
    conn = op.get_bind()
    for id_, first, last in conn.execute(
        sa.select(subscribers.c.id, subscribers.c.first_name, subscribers.c.last_name)
    ).all():
        joined = " ".join(part for part in (first, last) if part)
        conn.execute(sa.update(subscribers).where(subscribers.c.id == id_).values(name=joined))
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.alter_column("name", server_default=None)
        batch_op.drop_column("consent")
        batch_op.drop_column("subscribed_at")
        batch_op.drop_column("last_name")
        batch_op.drop_column("first_name")
