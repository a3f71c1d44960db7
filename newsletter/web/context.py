"""What the routes share: settings, database sessions, tokens, pages, the suppression list,
and the background sender of transactional mail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter import archive, db
from newsletter.config import Settings
from newsletter.mailqueue import MailSender
from newsletter.suppression import SuppressionList
from newsletter.tokens import Tokens
from newsletter.web.pagecache import PageCache
from newsletter.web.pages import Pages


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    tokens: Tokens
    pages: Pages
    suppressions: SuppressionList
    mailer: MailSender
    # Made once: a sessionmaker is a new Session subclass, and SQLAlchemy sets up its events
    # for each one (~300 µs, most of an unsubscribe page when made per request).
    sessions: sessionmaker[Session] = field(init=False)
    # The archive's rendered pages, until the archive changes (one cache per process).
    archive_pages: PageCache = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = db.session_factory(self.engine)
        self.archive_pages = PageCache(self._archive_version)

    def _archive_version(self) -> object:
        with self.session() as session:
            return archive.version(session)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction."""
        with db.transaction(self.sessions) as session:
            yield session
