"""Long-lived objects kept out of the garbage collector's passes, without keeping garbage.

A send or the web app holds a large set of objects that live as long as it does (modules,
templates, the rendered edition); the collector's full passes walk them again and again as
batches or requests come and go (a tenth of a send; a page ~80 ms every few dozen requests).
``gc.freeze()`` moves them out of its sight. Frozen objects that die in a cycle are never
collected, so the freeze is undone when the holder ends, and only the outermost holder in a
process freezes (a send inside the web app's process adds nothing to the app's freeze).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen() -> Iterator[None]:
    """While inside: what exists now is out of the collector's passes (the outermost only)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
