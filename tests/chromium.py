"""Headless Chromium (Debian's package, installed by .ci/run) as the tests drive it."""

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def headless(profile: Path, window: str = "1600,1000") -> list[str]:
    """A fresh headless browser with its own profile folder, no background traffic of its own."""
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={window}",
    ]
