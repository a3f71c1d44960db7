"""The fate of a batch: one pure decision, made from what the provider said and nothing else.

Every door that must decide what becomes of a claimed batch calls ``decide``: the engine
after each attempt (``sending``), the retry loop when it runs out of attempts or is told to
stop, and the takeover of a batch whose sender stopped heartbeating. Nowhere else decides.

Inputs: the error of the last attempt (``None`` when the provider answered message by
message), whether any earlier attempt of this batch was ambiguous (it may have reached the
provider; ambiguity is sticky for the batch), whether the provider deduplicates by the
batch key (and the key is still within the provider's memory of it), and whether another
attempt may be made now (attempts left, not stopping).

=================================  =======================  ============================
what happened                      provider dedupes by key  provider does not
=================================  =======================  ============================
answered per message               RECORD                   RECORD
key refused as reused (409)        IN_DOUBT                 IN_DOUBT
transient, may retry, no doubt     RETRY (same key)         RETRY (same key)
transient, may retry, ambiguous    RETRY (same key)         IN_DOUBT
transient, may not retry           HOLD if ambiguous,       IN_DOUBT if ambiguous (the
  (attempts spent, stopping)       else RELEASE; stop       others go on), else RELEASE;
                                                            stop
permanent (bad key, nonsense)      HOLD if ambiguous,       IN_DOUBT if ambiguous,
                                   else RELEASE; stop       else RELEASE; stop
=================================  =======================  ============================

"Ambiguous" is this attempt's or any earlier one's. For a provider that sends a batch message
by message and puts each on record before the next (SMTP, SES), a failure or a takeover
concerns only the first message not on record: it is decided alone (ambiguous), and the rest
of the batch, which certainly never left, is decided without doubt.

RELEASE puts rows back to ``pending`` (a later batch gets a new key): only ever when no
attempt can have reached the provider.
HOLD keeps the rows claimed under their key; the run ends, its claims go stale, and the
next sender resends them under the same key, which the provider deduplicates. IN_DOUBT
is reported and resent only when the operator asks (``send --resend-in-doubt``). "stop"
ends the whole send: a retry of any other batch cannot help either.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from newsletter.errors import KeyReused, ProviderError


class Fate(Enum):
    RECORD = "record"  # write each message's result
    RETRY = "retry"  # try again after a back-off, under the same batch key
    RELEASE = "release"  # back to pending: certainly nothing went out
    IN_DOUBT = "in_doubt"  # may have gone out; report, never resend on our own
    HOLD = "hold"  # may have gone out; leave claimed for a resend under the same key


@dataclass(frozen=True)
class Decision:
    fate: Fate
    stop: bool = False  # stop the whole send after this batch

    @property
    def final(self) -> bool:
        return self.fate is not Fate.RETRY


RECORD = Decision(Fate.RECORD)


def decide(
    error: ProviderError | None,
    *,
    ambiguous_before: bool,
    dedupes: bool,
    may_retry: bool,
) -> Decision:
    """The batch's fate; see the table in the module docstring."""
    if error is None:
        return RECORD
    if isinstance(error, KeyReused):
        return Decision(Fate.IN_DOUBT)
    ambiguous = ambiguous_before or error.ambiguous
    unsafe = Fate.HOLD if dedupes else Fate.IN_DOUBT
    if error.permanent:
        return Decision(unsafe if ambiguous else Fate.RELEASE, stop=True)
    if may_retry and (dedupes or not ambiguous):
        return Decision(Fate.RETRY)
    if ambiguous:
        # Without dedupe an ambiguous batch is reported at once and the others carry on.
        return Decision(unsafe, stop=dedupes and not may_retry)
    return Decision(Fate.RELEASE, stop=True)


def certain(error: ProviderError) -> ProviderError:
    """The same failure, for messages that certainly never left (a sequential provider's
    rest of the batch after the message that was on its way)."""
    return ProviderError(
        str(error), permanent=error.permanent, retry_after=error.retry_after, ambiguous=False
    )


def holder_stopped(message: str) -> ProviderError:
    """What a takeover knows of a batch whose sender stopped: it may have gone out."""
    return ProviderError(message, permanent=False, ambiguous=True)
