"""The outbox provider: each message becomes an ``.eml`` file, no account needed.

Files go to ``outbox_dir/<week>/<delivery id>.eml``, written to a temp name and renamed, so a
file that exists is whole, and a resend overwrites instead of duplicating: the outbox
deduplicates for ever, so an interrupted batch is resent and never left in doubt.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from newsletter.config import Settings
from newsletter.providers.base import Message, Record, SendResult
from newsletter.providers.mime import one_by_one


class OutboxProvider:
    name = "outbox"
    max_batch = 100
    default_rate = 0.0
    idempotent = True  # the same delivery id always lands in the same file
    key_memory: timedelta | None = None
    sequential = True

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.path(settings.provider.outbox_dir)

    @classmethod
    def at(cls, folder: Path) -> OutboxProvider:
        """An outbox writing to ``folder`` (tests and benchmarks)."""
        outbox = cls.__new__(cls)
        outbox.folder = folder
        return outbox

    def path(self, message: Message) -> Path:
        week = message.metadata.get("edition", "test")
        return self.folder / week / f"{message.delivery_id}.eml"

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        return one_by_one(messages, self._write, record)

    def _write(self, message: Message, data: bytes) -> SendResult:
        target = self.path(message)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".eml")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        return SendResult(message.delivery_id, provider_message_id=str(target))

    def check(self) -> str:
        """The folder must be writable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        probe = self.folder / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        return f"writes .eml files to {self.folder}"

    def close(self) -> None:
        pass
