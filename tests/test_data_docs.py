"""Data Docs render offline: no remote asset, and headless Chromium (no network) shows them styled."""

import os
import re
import shutil
import subprocess

import pytest

from dagster_project.checks.gx_runner import REMOTE_ASSET_SRC
from tests.chromium import CHROMIUM, headless

pytestmark = pytest.mark.xdist_group("sample_run")


def test_no_page_references_a_remote_asset(sample_run):
    docs = sample_run["warehouse"] / "docs"
    pages = list(docs.rglob("*.html"))
    assert (
        len(pages) > 10 and (docs / "gx" / "index.html").exists() and (docs / "dbt" / "index.html").exists()
    )
    for page in pages:
        if page.parts[-2] == "dbt":
            continue  # dbt's static page inlines its assets
        remote = [a or b for a, b in REMOTE_ASSET_SRC.findall(page.read_text(encoding="utf-8"))]
        assert remote == [], f"{page}: {remote[:3]}"


def render(page, out, tmp_path):
    args = [
        *headless(tmp_path / "profile", window="1280,900"),
        "--proxy-server=http://127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--allow-file-access-from-files",
        "--virtual-time-budget=3000",
    ]
    shot = subprocess.run([*args, f"--screenshot={out}", page.as_uri()], capture_output=True, timeout=120)
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, timeout=120, text=True)
    return shot, dom.stdout


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed here (CI installs it: apt-get install chromium)",
)
def test_chromium_renders_a_validation_page_with_its_styling_offline(sample_run, tmp_path):
    assert CHROMIUM, "CI must have chromium"
    docs = tmp_path / "docs"
    shutil.copytree(sample_run["warehouse"] / "docs" / "gx", docs)
    page = sorted((docs / "validations").rglob("*.html"))[0]
    shot, dom = render(page, tmp_path / "styled.png", tmp_path)
    assert (tmp_path / "styled.png").exists(), shot.stderr[-500:]
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "Expectation" in text and ("Succeeded" in text or "Failed" in text or "Success" in text)
    # without the vendored assets the same page renders differently: the styling is local, not from the web
    shutil.rmtree(docs / "static" / "vendor")
    render(page, tmp_path / "unstyled.png", tmp_path)
    assert (tmp_path / "styled.png").read_bytes() != (tmp_path / "unstyled.png").read_bytes()
