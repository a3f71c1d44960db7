"""``newsletter init``: a working folder with config, database, migrations and a sample tip."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from newsletter import db, imports, tips
from newsletter.config import settings_from_mapping
from newsletter.errors import InputError
from newsletter.resources import example_config
from newsletter.suppression import SuppressionList

SAMPLE_TIP = "identify-your-point-of-empathy.md"
DEMO_POSTAL_ADDRESS = "100 Example Street, Springfield, IL 62701, USA (demo address: set your own)"


@dataclass(frozen=True)
class InitResult:
    config: Path
    database: str
    sample: Path
    tip_title: str
    queued: bool
    subscribers_added: int


def init_project(directory: Path, *, demo: bool = False) -> InitResult:
    """Create and migrate the database and write a sample tip file, then ``config.toml``.

    The sample is only a file in ``tips/``: a real site's queue starts empty, so nothing
    invented is ever the first email real subscribers get. With ``demo`` the sample is queued,
    the config gets a placeholder postal address and three sample subscribers (reserved
    example.com/.org addresses) are imported, ready for a first send. The config is written
    last, so a failed init leaves no half-made folder behind it.
    """
    config_path = directory / "config.toml"
    if config_path.exists():
        raise InputError(f"{config_path} already exists; not overwriting it")
    text = example_config().read_text(encoding="utf-8")
    if demo:
        text = re.sub(
            r'(?m)^postal_address = ""', f'postal_address = "{DEMO_POSTAL_ADDRESS}"', text
        )
    directory.mkdir(parents=True, exist_ok=True)
    settings = settings_from_mapping(tomllib.loads(text), {}, config_path)
    engine = db.make_engine(db.resolve_url(settings.database.url, settings.base_dir))
    if db.current_revision(engine) is not None:
        raise InputError(
            f"{db.mask_url(engine.url)} already holds a newsletter database; not touching it"
        )
    try:
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            sample = _write_sample(directory / "tips", SAMPLE_TIP)
            title = tips.parse_tip_file(sample).title
            added = 0
            if demo:
                tips.add_tips(session, [sample])
                csv_path = _write_sample(directory, "subscribers.csv", "subscribers.sample.csv")
                added = imports.import_file(session, SuppressionList([]), csv_path).added
    finally:
        engine.dispose()
    config_path.write_text(text, encoding="utf-8")
    return InitResult(config_path, db.mask_url(engine.url), sample, title, demo, added)


def _write_sample(folder: Path, name: str, as_name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (as_name or name)
    text = resources.files("newsletter.samples").joinpath(name).read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    return target
