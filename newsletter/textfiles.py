"""Reading the operator's text files: UTF-8 (with or without BOM), errors by file and line."""

from __future__ import annotations

from pathlib import Path

from newsletter.errors import InputError


def read_utf8(path: Path) -> str:
    """The file's text; ``InputError`` naming the file (and the line of a bad byte)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
