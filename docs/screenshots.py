"""Re-make the screenshots under docs/: python docs/screenshots.py EMAIL.html (from `newsletter preview -o`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    page_file = Path(sys.argv[1]).resolve()
    out = Path(__file__).parent
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        for width in (600, 375):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_file.as_uri())
            page.screenshot(path=str(out / f"email-preview-{width}.png"), full_page=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
