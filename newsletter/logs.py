"""How every process of ours logs: one line per record on stderr, INFO unless verbose."""

from __future__ import annotations

import logging


def configure(verbose: bool = False) -> None:
    """Set up the root logger (the CLI, and each web worker process it starts)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
