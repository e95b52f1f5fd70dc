"""The GX stores are written when a suite changes, not every night (issue 27: a night's fixed cost).

A night audits with suites that change only with the code; saving each suite, validation definition and checkpoint
again cost about 0.1 s a suite (some 3 s of a night that audits every mart). The runner saves them when their
definition differs from the one last saved, or a stored file is not as it was written; the night's own values (the
row-count floor) are parameters of the validation, not part of the suite. Each test opens a new runner, as a new
night's process does.
"""

import json

import pandas as pd

from dagster_project.checks.gx_runner import GxRunner
from dagster_project.checks.suites import MARTS, blocking_suite, row_floor

SPEC = next(s for s in MARTS if s.name == "fee_collection")


def mart(rows: int = 3, extra: bool = False) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "year": [2012] * rows,
            "township_code": [f"33100310{i}" for i in range(rows)],
            "district_code": ["331003"] * rows,
            "filing_rate": [90.0] * rows,
            "compliance_rate": [70.0] * rows,
            "collection_rate": [95.0] * rows,
            "decisions": [10] * rows,
        }
    )
    if extra:
        df["payments"] = 5  # one count more: one expectation more in the suite
    return df


def stored(warehouse) -> dict[str, int]:
    gx = warehouse / "gx"
    files = [
        *gx.joinpath("expectations").rglob("*.json"),
        *gx.joinpath("validation_definitions").glob("*.json"),
        *gx.joinpath("checkpoints").glob("*.json"),
    ]
    return {str(f.relative_to(gx)): f.stat().st_mtime_ns for f in files}


def night(warehouse, df, previous_rows=None):
    floor = row_floor(SPEC, previous_rows)
    runner = GxRunner(warehouse)  # a new night's process: nothing kept in memory
    outcome = runner.run(blocking_suite(SPEC, df), df, parameters=floor.parameters, hints=floor.hints)
    runner.build_docs()
    return outcome


def results(warehouse) -> int:
    return len(list((warehouse / "gx" / "uncommitted" / "validations").rglob("*.json")))


def test_an_unchanged_suite_is_not_saved_again_and_the_night_floor_still_applies(tmp_path):
    first = night(tmp_path, mart())
    saved = stored(tmp_path)
    assert first.success and len(saved) == 3

    # the next night: the same suite, a floor from the last publication's rows that the mart passes
    second = night(tmp_path, mart(), previous_rows=3)
    assert second.success and second.evaluated == first.evaluated
    assert stored(tmp_path) == saved, "an unchanged suite was written to the stores again"
    assert results(tmp_path) == 2  # each night's result is kept all the same (and its Data Docs page)

    # a night whose floor the mart fails: the reused suite takes this night's floor, and says where it comes from
    third = night(tmp_path, mart(rows=2), previous_rows=10)
    assert not third.success
    (failure,) = third.failed
    assert "expect_table_row_count_to_be_between(table): observed 2, expected ≥ 9" in failure
    assert "the last publication served 10 rows" in failure and "PFPW_MAX_ROW_DROP_SHARE" in failure
    assert stored(tmp_path) == saved


def test_a_changed_suite_is_saved_and_evaluated_in_full(tmp_path):
    before = night(tmp_path, mart())
    after = night(tmp_path, mart(extra=True))  # the code now audits one count more
    assert after.evaluated == before.evaluated + 1
    suite = json.loads(next((tmp_path / "gx" / "expectations").rglob("*.json")).read_text(encoding="utf-8"))
    assert any(e["kwargs"].get("column") == "payments" for e in suite["expectations"])


def test_a_stored_suite_edited_by_hand_is_replaced_by_the_code_s(tmp_path):
    full = night(tmp_path, mart())
    file = next((tmp_path / "gx" / "expectations").rglob("*.json"))
    suite = json.loads(file.read_text(encoding="utf-8"))
    suite["expectations"] = suite["expectations"][:1]  # a weaker suite on disk
    file.write_text(json.dumps(suite), encoding="utf-8")

    again = night(tmp_path, mart(rows=2, extra=False).assign(filing_rate=150.0))
    assert again.evaluated == full.evaluated, "the night audited with the edited suite"
    assert any("expect_column_values_to_be_between(filing_rate)" in f for f in again.failed)
