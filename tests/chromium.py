"""Headless Chromium (Debian's package, installed by .ci/run) as the tests drive it: with the report's flags."""

from pathlib import Path

from dagster_project.report.build import HEADLESS, chromium

CHROMIUM = chromium()


def headless(profile: Path, window: str = "1600,1000") -> list[str]:
    """A fresh headless browser with its own profile folder, no background traffic of its own."""
    return [CHROMIUM, *HEADLESS, f"--user-data-dir={profile}", f"--window-size={window}"]
