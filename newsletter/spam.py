"""A SpamAssassin score for a message, when Debian's ``spamassassin`` is installed.

Run offline (``-L``: no DNS blocklists or other network tests), in test mode, without Bayes
learning or user preference files, and bounded in time.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from newsletter.config import Settings

COMMAND = [
    "spamassassin",
    "-L",  # local tests only
    "-t",  # test mode: report, no changes
    "-x",  # never create a user preferences file
    "--cf=use_bayes 0",
    "--cf=bayes_auto_learn 0",
]
_STATUS = re.compile(
    r"X-Spam-Status: (Yes|No), score=(-?[\d.]+) required=(-?[\d.]+)(.*?)\n\S", re.S
)


def score(message: bytes, timeout: float) -> tuple[float, float, list[str]]:
    """(score, required, rules hit) for an RFC 5322 message."""
    done = subprocess.run(COMMAND, input=message, capture_output=True, timeout=timeout, check=False)
    match = _STATUS.search(done.stdout.decode("utf-8", "replace"))
    if match is None:
        raise RuntimeError(done.stderr.decode("utf-8", "replace").strip()[:200] or "no report")
    listed = match.group(4).split("tests=", 1)[-1].split("autolearn")[0]
    rules = re.findall(r"[A-Z][A-Z0-9_]+", listed)
    return float(match.group(2)), float(match.group(3)), rules


def verdict(settings: Settings, message: bytes) -> tuple[str, str]:
    """(level, detail): fail at or over SpamAssassin's threshold, warn past half of it."""
    if not settings.checks.spamassassin:
        return "skip", "turned off ([checks] spamassassin = false)"
    if shutil.which("spamassassin") is None:
        return "skip", "spamassassin is not installed (apt install spamassassin)"
    try:
        points, required, rules = score(message, settings.checks.timeout_seconds * 6)
    except (subprocess.TimeoutExpired, RuntimeError, OSError) as exc:
        return "warn", f"spamassassin did not give a score: {exc}"
    hit = f" ({', '.join(rules[:8])})" if rules else ""
    text = f"{points:.1f} (SpamAssassin marks {required:.1f} and over as spam){hit}"
    if points >= required:
        return "fail", text
    return ("warn" if points >= required / 2 else "ok"), text
