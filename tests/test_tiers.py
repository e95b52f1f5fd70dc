"""The tiers (docs/tests.md): `make test` runs what a change needs to be trusted, `make test-all` (what .ci/run
runs) every test. tests/conftest.py's SLOW is the one list of what only `make test-all` runs; these tests fail
when the Makefile, .ci/run or that list drift from what the tiers promise."""

import re
import subprocess
import sys

import pytest

from dagster_project.settings import PROJECT_DIR
from tests.conftest import FAST_TIER, MATCHED_SLOW, SLOW, whole_suite


def _recipe(target: str) -> str:
    """The pytest line of a Makefile target's recipe."""
    lines = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    return next(line for line in recipe if "pytest" in line)


def test_make_test_runs_the_fast_tier_and_make_test_all_every_test_and_ci_runs_test_all():
    assert f'-m "{FAST_TIER}"' in _recipe("test")
    assert " -m " not in _recipe("test-all")
    for target in (
        "test",
        "test-all",
    ):  # the order of conftest.LONG_UNITS needs both (tests/test_xdist_groups.py)
        assert "--dist loadgroup --no-loadscope-reorder" in _recipe(target)
    ci = [
        line
        for line in (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert ci[-1] == "make test-all"


def test_make_test_selects_the_golden_figures_the_ui_and_one_random_night_sequence():
    """`make test`'s selection, as pytest collects it with the tier's marker expression."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
        + ["-m", FAST_TIER],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    selected = [line for line in done.stdout.splitlines() if "::" in line]
    modules = {nodeid.split("::")[0] for nodeid in selected}
    assert {
        "tests/test_golden.py",
        "tests/test_ui.py",
        "tests/test_units.py",
        "tests/test_report.py",
    } <= modules
    nights = [
        n for n in selected if n.startswith("tests/test_nightly_invariant.py::test_random_nights_equal")
    ]
    assert len(nights) == 1, nights
    for slow in ("test_bi.py", "test_spark_parity.py", "test_daemon.py", "test_two_districts.py"):
        assert f"tests/{slow}" not in modules, f"{slow} is in `make test`: it belongs to `make test-all` only"
    assert not [
        n
        for n in selected
        if re.search(
            r"test_ui_door.py::test_make_serve|test_dead_runs.py::test_a_kill|test_postgres_instance.py::test_the_daemon",
            n,
        )
    ]


def test_every_entry_of_the_slow_tier_names_a_test(request):
    """A renamed test, module or group would silently move back into `make test`."""
    if not whole_suite(request.config):
        pytest.skip("not a run of the whole suite")
    assert set(SLOW) <= request.config.stash[MATCHED_SLOW], set(SLOW) - request.config.stash[MATCHED_SLOW]
