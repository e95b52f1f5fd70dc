"""`make ui` from a fresh clone: the code location loads and the UI shows the lineage, ingestion to serving.

The UI is started exactly as a user does it (`make ui`, in its own process group, without the
virtualenv on PATH), queried over GraphQL, then rendered by headless Chromium. The screenshots are
kept in $PFPW_TEST_ARTIFACTS (default tests/artifacts/, git-ignored) to be looked at.
"""

import os
import re
import shutil
import subprocess
import time
from collections import deque
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, headless
from tests.conftest import MARTS
from tests.processes import env_without_venv, free_port, graphql, log_tail, start, stop_group, wait_until

pytestmark = pytest.mark.xdist_group("ui")

PROJECT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("PFPW_TEST_ARTIFACTS") or PROJECT / "tests" / "artifacts")
STARTUP_TIMEOUT = 120
LANDING_STATE = "lake/landing_zone_state"
SERVING = "serving/serving_database"
LAKE_BOOKKEEPING = {
    LANDING_STATE,
    "lake/landing_zone_inventory",
    "lake/ingest_ledger",
    "lake/quarantine",
    "lake/delivery_status",
}

WORKSPACE_QUERY = """
{ workspaceOrError {
    __typename
    ... on PythonError { message stack }
    ... on Workspace { locationEntries {
        name loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } } } } } }
"""
ASSETS_QUERY = "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }"


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    base = tmp_path_factory.mktemp("ui")
    (base / "dagster_home").mkdir()
    shutil.copy(PROJECT / "deploy" / "dagster.yaml", base / "dagster_home" / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = base / "make_ui.log"

    def loaded() -> dict | None:
        workspace = graphql(url, WORKSPACE_QUERY, timeout=10)["workspaceOrError"]
        entries = workspace.get("locationEntries")
        if workspace["__typename"] != "Workspace" or all(e["loadStatus"] == "LOADED" for e in entries):
            return workspace
        return None

    started = time.monotonic()
    proc = start(["make", "ui"], log, env=env_without_venv(base, port))
    try:
        workspace = wait_until("`make ui` to load the code location", loaded, STARTUP_TIMEOUT, proc, log=log)
        print(f"`make ui` answered on {url} after {time.monotonic() - started:.0f} s")
        yield {"url": url, "workspace": workspace, "log": log}
    finally:
        stop_group(proc)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "ui_make_ui.log")


@pytest.fixture(scope="module")
def assets(ui) -> dict[str, dict]:
    nodes = graphql(ui["url"], ASSETS_QUERY)["assetNodes"]
    return {
        "/".join(n["assetKey"]["path"]): {
            "group": n["groupName"],
            "deps": {"/".join(d["path"]) for d in n["dependencyKeys"]},
        }
        for n in nodes
    }


def test_make_ui_loads_the_code_location_without_error(ui):
    workspace = ui["workspace"]
    assert workspace["__typename"] == "Workspace", (
        f"{workspace.get('message')}\n{''.join(workspace.get('stack') or [])}"
    )
    entries = workspace["locationEntries"]
    assert [e["name"] for e in entries] == ["pfpw"]
    for entry in entries:
        loaded = entry["locationOrLoadError"] or {}
        assert loaded.get("__typename") != "PythonError", (
            f"code location {entry['name']} failed to load: {loaded.get('message')}\n"
            + "".join(loaded.get("stack") or [])
            + f"\n--- make ui ---\n{log_tail(ui['log'])}"
        )
        assert entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "RepositoryLocation", entry
    # the instance's settings are copied from deploy/: no dagster.yaml in the project folder that Dagster
    # would announce "will not be used"
    assert "will not be used" not in ui["log"].read_text(errors="replace"), log_tail(ui["log"])


def rank(key: str) -> int:
    """Where an asset sits in the lineage: landing zone state, reference, extracts, ..., serving."""
    first = key.split("/")[0]
    if key == LANDING_STATE:
        return 0
    return {
        "reference": 1,
        "lake": 2,
        "staging": 3,
        "intermediate": 4,
        "marts": 5,
        "audit": 5,
        "serving": 6,
        "report": 7,
    }[first]


def upstream(assets: dict, key: str) -> set[str]:
    seen, todo = set(), deque([key])
    while todo:
        for dep in assets[todo.popleft()]["deps"] - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


def test_the_lineage_runs_from_the_landing_zone_to_the_served_database(assets):
    keys = set(assets)
    marts = {k for k in keys if k.startswith("marts/")}
    extracts = {k for k in keys if k.startswith("lake/")} - LAKE_BOOKKEEPING
    staging = {k for k in keys if k.startswith("staging/")}
    intermediate = {k for k in keys if k.startswith("intermediate/")}
    assert {LANDING_STATE, SERVING} <= keys
    assert len(extracts) == 9 and {m.split("/")[-1] for m in marts} == MARTS and staging and intermediate, (
        sorted(keys)
    )
    assert "lake/township_births" in extracts

    # every key is in the group of its layer, and no edge points back up the lineage
    groups = {"lake": "ingestion", "serving": "serving"}
    for key, node in assets.items():
        first = key.split("/")[0]
        assert node["group"] == groups.get(first, first), (key, node["group"])
        for dep in node["deps"]:
            assert dep in keys, f"{key} depends on {dep}, which is no asset of the UI"
            assert rank(dep) <= rank(key), f"{dep} -> {key} goes backwards in the lineage"

    # landing_zone_state -> every extract -> staging -> intermediate -> marts -> serving
    assert assets[LANDING_STATE]["deps"] == set()
    for extract in extracts:
        assert LANDING_STATE in assets[extract]["deps"], extract
        assert any(extract in assets[s]["deps"] for s in staging), f"no staging model reads {extract}"
    for model in intermediate:
        assert assets[model]["deps"] <= staging | intermediate, model
    for mart in marts:
        above = upstream(assets, mart)
        assert above & extracts, f"{mart} is not reachable from any lake extract"
        assert above & intermediate and above & staging and LANDING_STATE in above, mart
    assert marts <= assets[SERVING]["deps"], f"serving misses {sorted(marts - assets[SERVING]['deps'])}"
    assert assets[SERVING]["deps"] <= marts | {k for k in keys if k.startswith("audit/")}


# --- the rendered pages --------------------------------------------------------------------------------

BUDGETS_MS = (15000, 45000, 120000)  # virtual time: retried longer while the graph layout is still pending


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def graph_text(html: str) -> str:
    """Only what the lineage canvas drew (its nodes are HTML inside SVG foreignObjects), not the sidebar."""
    return page_text(" ".join(re.findall(r"<foreignObject\b.*?</foreignObject>", html, flags=re.S)))


def render(url: str, shot: Path, profile: Path, expect: list[str], drawn=graph_text) -> str:
    """Screenshot and DOM of one page from the same headless Chromium run, retried with more time."""
    shot.parent.mkdir(parents=True, exist_ok=True)
    args = headless(profile / shot.stem)  # a fresh browser per page: no view state carried over
    missing = expect
    for budget in BUDGETS_MS:
        shot.unlink(missing_ok=True)
        run = subprocess.run(
            [*args, f"--virtual-time-budget={budget}", f"--screenshot={shot}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=180,
        )
        text = drawn(run.stdout)
        missing = [e for e in expect if not re.search(rf"\b{re.escape(e)}\b", text)]
        if shot.exists() and not missing:
            print(f"{url}: rendered in {budget} ms of virtual time -> {shot}")
            return text
    pytest.fail(f"{url}: {missing} not on the page (screenshot {shot}); chromium said {run.stderr[-800:]}")


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed here (CI installs it: apt-get install chromium)",
)
def test_chromium_shows_the_lineage_and_a_mart(ui, tmp_path):
    assert CHROMIUM, "CI must have chromium (apt-get install chromium)"
    url = ui["url"]
    # The first visit of a local UI opens a "Join the Dagster community" dialog over every page; this is
    # the mutation its Skip button sends (it only marks $DAGSTER_HOME/.nux as seen).
    assert graphql(url, "mutation { setNuxSeen }")["setNuxSeen"] is True
    profile = tmp_path / "chromium"

    # the global asset lineage (Lineage in the side bar), one box per layer
    render(
        f"{url}/asset-groups",
        ARTIFACTS / "ui_lineage_global.png",
        profile,
        ["ingestion", "reference", "staging", "intermediate", "marts", "audit", "serving"],
    )
    # one mart's lineage tab, its neighbours: intermediate -> the mart -> serving
    render(
        f"{url}/assets/marts/fee_collection?view=lineage",
        ARTIFACTS / "ui_fee_collection_neighbors.png",
        profile,
        ["int_fee_cases", "fee_collection", "fee_collection_district", "serving_database"],
    )
    # seven layers out: back to the landing zone state through the extracts, base, staging and the monthly cohort
    render(
        f"{url}/assets/marts/fee_collection?view=lineage&lineageScope=neighbors&lineageDepth=7",
        ARTIFACTS / "ui_fee_collection_lineage.png",
        profile,
        ["landing_zone_state", "township_births", "int_fee_cases", "fee_collection", "serving_database"],
    )
    # the mart's own page: definition, columns, and its lineage down to the served database
    text = render(
        f"{url}/assets/marts/fee_collection",
        ARTIFACTS / "ui_fee_collection.png",
        profile,
        ["fee_collection", "marts", "Columns", "serving_database"],
        drawn=page_text,
    )
    assert "Something went wrong" not in text and "PythonError" not in text
