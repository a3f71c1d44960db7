"""Where the files that ship beside the code are: templates, migrations, the example config.

In a wheel they sit inside the package (``newsletter/_data``); in a checkout or an editable
install they are at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"packaged resource {name!r} is missing from this installation")


def templates_dir() -> Path:
    """The packaged templates folder."""
    return _find("templates")


def migrations_dir() -> Path:
    """The Alembic environment folder."""
    return _find("migrations")


def example_config() -> Path:
    """The commented example configuration."""
    return _find("config.example.toml")
