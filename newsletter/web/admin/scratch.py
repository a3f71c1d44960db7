"""Files the dashboard keeps between two requests of one operator: an uploaded list until its
import is confirmed, a rendered preview for its frame. Each has a random name bound to the
account that made it, lives in a private folder under the system's temp folder (shared by
the web processes of one machine), and is deleted when used or after ``KEEP``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

KEEP = timedelta(hours=1)
_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")


class Scratch:
    """A private folder of short-lived files, named ``<account>-<random id><suffix>``."""

    def __init__(self, folder: Path | None = None) -> None:
        """``folder``: default, ``newsletter-admin-<uid>`` in the system's temp folder."""
        self.folder = folder or Path(tempfile.gettempdir()) / f"newsletter-admin-{os.getuid()}"

    def _ready(self) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.folder

    def put(self, owner: int, suffix: str, source: BinaryIO) -> str:
        """Store a copy of ``source`` for ``owner``; returns its id."""
        self.sweep()
        key = secrets.token_urlsafe(24)
        target = self._ready() / f"{owner}-{key}{suffix}"
        with target.open("xb") as out:
            shutil.copyfileobj(source, out)
        now = time.time()  # this process's clock, the one `path` and `sweep` compare with
        os.utime(target, (now, now))
        return key

    def path(self, owner: int, key: str, suffix: str) -> Path | None:
        """The file, if ``key`` names one of ``owner``'s that has not expired."""
        if not _ID.match(key):
            return None
        found = self.folder / f"{owner}-{key}{suffix}"
        try:
            age = time.time() - found.stat().st_mtime
        except OSError:
            return None
        return found if age < KEEP.total_seconds() else None

    def drop(self, owner: int, key: str, suffix: str) -> None:
        """Delete the file now (it has been used)."""
        found = self.path(owner, key, suffix)
        if found is not None:
            found.unlink(missing_ok=True)

    def sweep(self) -> None:
        """Delete every file older than ``KEEP``."""
        if not self.folder.is_dir():
            return
        cutoff = time.time() - KEEP.total_seconds()
        for entry in self.folder.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink(missing_ok=True)
            except OSError:
                continue
