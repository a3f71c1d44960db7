"""Reading a webhook's JSON body without trusting it: bounded, strict, typed.

``loads`` refuses, as ``InputError`` (HTTP 400), anything a provider would never send: bytes
that are not UTF-8, JSON nested deeper than ``MAX_DEPTH`` (checked on the raw text before
parsing, so the parser never recurses into a hostile body), ``NaN``/``Infinity`` or numbers
too large for a float, and strings holding a NUL or a lone surrogate (which neither database
stores). The field getters refuse a value of the wrong type the same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from newsletter.errors import InputError

MAX_DEPTH = 32

# A JSON string, or an unterminated one to the end of the input (never backtracks, so an odd
# body costs one linear pass); what is left outside strings is reduced to the brackets.
_STRING = re.compile(rb'"[^"\\]*(?:\\[\s\S][^"\\]*)*"?')
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
# Only a \u escape can put a NUL or a surrogate into a parsed string (strict UTF-8 and
# strict JSON refuse them raw): bodies without one are not walked.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def nesting_within(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects at most ``limit`` deep.

    Outside strings, every bracket becomes ``[`` or ``]``; each pass then removes the
    innermost empty pairs (one level), so ``limit`` passes empty the brackets of any text
    nested at most that deep. Whether the bracket kinds match is left to the parser."""
    skeleton = _STRING.sub(b"", raw).translate(_BRACKETS, _NOT_BRACKETS)
    too_deep = b"[" * (limit + 1)
    for _ in range(limit):
        if not skeleton:
            return True
        if too_deep in skeleton:
            return False
        skeleton = skeleton.replace(b"[]", b"")
    return not skeleton


def loads(raw: bytes, what: str) -> Any:
    """The JSON value of a webhook body; ``InputError`` naming ``what`` for anything odd."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what}: the body is not UTF-8") from None
    if not nesting_within(raw):
        raise InputError(f"{what}: the body is not JSON nested at most {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        raise InputError(f"{what}: the body is not JSON") from None
    if _SUSPECT_ESCAPE.search(text):
        _check_text(value, what)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"{literal} is out of range")
    return number


def _check_text(value: Any, what: str) -> None:
    # Depth is bounded above, so this recursion is too.
    if isinstance(value, str):
        if _BAD_TEXT.search(value):
            raise InputError(f"{what}: the body holds a NUL or an unpaired surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, what)
            _check_text(item, what)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, what)


def obj(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object")
    return value


def section(data: Mapping[str, Any], key: str, what: str) -> dict[str, Any]:
    """An optional object field (missing or null: empty)."""
    value = data.get(key)
    return {} if value is None else obj(value, f"{what}: {key}")


def text(data: Mapping[str, Any], key: str, what: str) -> str:
    """A required string field."""
    value = data.get(key)
    if not isinstance(value, str):
        raise InputError(f"{what}: {key} must be a string")
    return value


def optional_text(data: Mapping[str, Any], key: str, what: str) -> str | None:
    """A string field that may be missing or null."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f"{what}: {key} must be a string")
    return value


def identifier(data: Mapping[str, Any], key: str, what: str) -> str | None:
    """An id that providers send as a string or a whole number (missing or null: None)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"{what}: {key} must be a string or a whole number")
    return str(value)
