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


def test_validation_results_and_their_pages_are_kept_for_the_newest_runs_only(tmp_path, monkeypatch):
    """Night after night the GX store and the Data Docs keep the newest results of each suite, and the
    index links only pages that exist (else the audits and the warehouse grow with the years)."""
    import great_expectations as gx
    import pandas as pd

    from dagster_project.checks import gx_runner

    monkeypatch.setattr(gx_runner, "KEEP_VALIDATIONS", 2)
    runner = gx_runner.GxRunner(tmp_path)
    store = tmp_path / "gx" / "uncommitted" / "validations" / "fee_collection" / "blocking"
    seen = []
    for n in range(4):
        suite = gx.ExpectationSuite(
            name="fee_collection.blocking",
            expectations=[gx.expectations.ExpectTableRowCountToBeBetween(min_value=1, max_value=10)],
        )
        assert runner.run(suite, pd.DataFrame({"township_code": ["01"] * (n + 1)})).success
        runner.build_docs()
        seen += sorted({p.name for p in store.rglob("*") if gx_runner.RUN_TIME.match(p.name)} - set(seen))
    assert len(seen) == 4
    kept = sorted(p.name for p in store.rglob("*") if gx_runner.RUN_TIME.match(p.name))
    assert kept == sorted(seen)[-2:]
    pages = sorted((tmp_path / "docs" / "gx" / "validations").rglob("*.html"))
    assert sorted(p.parent.name for p in pages) == kept
    index = tmp_path / "docs" / "gx" / "index.html"
    links = set(re.findall(r"""["'](validations/[^"'#?]+\.html)["']""", index.read_text(encoding="utf-8")))
    assert links and all((index.parent / link).exists() for link in links), links
    assert {link.split("/")[-2] for link in links} == set(kept)
