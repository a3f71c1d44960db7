"""What the routes share: settings, database sessions, tokens, pages, the suppression list,
and the background sender of transactional mail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter import db
from newsletter.config import Settings
from newsletter.mailqueue import MailSender
from newsletter.suppression import SuppressionList
from newsletter.tokens import Tokens
from newsletter.web.pages import Pages


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    tokens: Tokens
    pages: Pages
    suppressions: SuppressionList
    mailer: MailSender

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction."""
        with db.transaction(db.session_factory(self.engine)) as session:
            yield session
