"""The landing-zone sensor and the nightly schedule, evaluated in-process (no daemon: see test_daemon.py).

The sensor requests a run (keyed by the content state) whenever the landing zone's content
moved: first sight, a corrected, deleted or new file, a withdrawn month folder, a changed
reference table, a new agency folder; a touched file whose content equals the last
publication's requests nothing. The schedule asks for the whole job, only what depends on the
changed agencies (the warehouse still holds the last publication exactly), or (nothing new
since the last publication) only the state record.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from dagster_project import state
from dagster_project.definitions import defs
from dagster_project.defs.automation.schedules import nightly_schedule
from dagster_project.defs.automation.sensors import landing_zone_sensor
from dagster_project.defs.ingestion.keys import SERVING_KEY, STATE_KEY, extract_key, mart_key
from dagster_project.defs.resources import PfpwPaths
from tests.conftest import SAMPLE, TEST_KEY

MONTHS = ("2012-02", "2012-03")
NIGHT = dt.datetime(2012, 4, 2, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def paths(tmp_path) -> PfpwPaths:
    """reference/ and two months of the township and finance extracts of the sample."""
    src = tmp_path / "sources"
    shutil.copytree(SAMPLE / "reference", src / "reference")
    for agency in ("township", "finance"):
        for month in MONTHS:
            shutil.copytree(SAMPLE / agency / month, src / agency / month)
    return PfpwPaths(sources_dir=str(src), warehouse_dir=str(tmp_path / "warehouse"))


def raw_tick(instance, paths: PfpwPaths, cursor: str | None) -> dg.SensorResult:
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"paths": paths}, definitions=defs
    )
    return landing_zone_sensor(ctx)


def tick(instance, paths: PfpwPaths, cursor: str | None) -> dg.SensorResult:
    """A tick once the landing zone has settled: a change seen first is acted on at the next tick."""
    result = raw_tick(instance, paths, cursor)
    reason = getattr(result.skip_reason, "skip_message", result.skip_reason) or ""
    if "settle" in reason:
        assert not result.run_requests
        result = raw_tick(instance, paths, result.cursor)
    return result


def the_request(result: dg.SensorResult, paths: PfpwPaths) -> dg.RunRequest:
    """The one run request of a tick: the whole job, keyed by the landing zone's content state now."""
    assert len(result.run_requests) == 1, result.skip_reason
    request = result.run_requests[0]
    assert request.asset_selection is None  # the whole job: ingestion is incremental by content hash
    last = state.last_publication(paths.warehouse)
    assert request.run_key == (
        f"{state.current_state(paths.sources, TEST_KEY).digest}:{last['run_id'] if last else 'unpublished'}"
    )
    assert request.tags["pfpw/trigger"] == "sensor"
    return request


def changed(request: dg.RunRequest) -> set[str]:
    return set(request.tags["pfpw/changed"].split(","))


def bump_mtime(path: Path) -> None:
    """A new modification time, one second later (a rewrite within the same clock tick keeps the old one)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def publish_now(paths: PfpwPaths, run_id: str = "run-published") -> None:
    """What a publication leaves behind: a served file and published.json with the current state."""
    paths.warehouse.mkdir(parents=True, exist_ok=True)
    paths.serving_db.write_bytes(b"served file of " + run_id.encode())  # before the record: its stat is kept
    current = state.current_state(paths.sources, TEST_KEY)
    state.record_publication(paths.warehouse, run_id, "2012-04-01 18:05 UTC", current.to_json())


def test_first_sight_requests_the_whole_job_then_nothing_while_unchanged(paths, instance):
    first = tick(instance, paths, None)
    request = the_request(first, paths)
    assert changed(request) == {"finance", "reference", "township"}
    assert defs.resolve_sensor_def("landing_zone_sensor").job_name == "pfpw_nightly"

    quiet = tick(instance, paths, first.cursor)
    assert not quiet.run_requests
    assert "no new, corrected or withdrawn files" in quiet.skip_reason.skip_message
    assert quiet.cursor == first.cursor


def correct_a_payment(src: Path) -> None:
    """Same size, one amount changed: only the content and the modification time tell."""
    f = src / "finance" / "2012-03" / "fee_payments.csv"
    header, first_row, rest = f.read_bytes().split(b"\r\n", 2)  # UTF-8 with BOM, CRLF
    at = re.search(rb'\.\d\d"?,[^,]+$', first_row).start() + 2  # the amount's last digit (cents)
    fixed = first_row[:at] + (b"1" if first_row[at : at + 1] != b"1" else b"2") + first_row[at + 1 :]
    assert len(fixed) == len(first_row) and fixed != first_row
    f.write_bytes(b"\r\n".join([header, fixed, rest]))
    bump_mtime(f)


def delete_a_file(src: Path) -> None:
    next((src / "township" / "2012-03").glob("*.xlsx")).unlink()


def withdraw_a_month(src: Path) -> None:
    shutil.rmtree(src / "finance" / "2012-02")


def change_a_reference_table(src: Path) -> None:
    f = src / "reference" / "hospitals.csv"
    f.write_bytes(f.read_bytes().replace("医院".encode(), "医院 ".encode(), 1))
    bump_mtime(f)


def add_an_agency(src: Path) -> None:
    shutil.copytree(SAMPLE / "court" / "2012-02", src / "court" / "2012-02")


@pytest.mark.parametrize(
    ("change", "folder"),
    [
        (correct_a_payment, "finance"),
        (delete_a_file, "township"),
        (withdraw_a_month, "finance"),
        (change_a_reference_table, "reference"),
        (add_an_agency, "court"),
    ],
    ids=["corrected file", "deleted file", "withdrawn month folder", "reference table", "new agency folder"],
)
def test_a_change_requests_the_whole_job_under_a_new_key(paths, instance, change, folder):
    first = tick(instance, paths, None)
    before = the_request(first, paths)

    change(paths.sources)
    again = tick(instance, paths, first.cursor)
    request = the_request(again, paths)
    assert request.run_key != before.run_key
    assert changed(request) == {folder}  # only the top-level folder that moved

    assert not tick(instance, paths, again.cursor).run_requests  # and once seen, quiet again


def test_a_touched_file_with_the_published_content_requests_nothing(paths, instance):
    first = tick(instance, paths, None)
    unpublished = the_request(first, paths)

    # touched, same content, nothing published yet: the same state, so the same run key (one state, one run)
    touched = paths.sources / "finance" / "2012-02" / "fee_decisions.csv"
    bump_mtime(touched)
    again = tick(instance, paths, first.cursor)
    assert the_request(again, paths).run_key == unpublished.run_key

    # that state published: touching a file again requests nothing
    publish_now(paths)
    bump_mtime(touched)
    skipped = tick(instance, paths, again.cursor)
    assert not skipped.run_requests
    assert "content unchanged since publication run-published" in skipped.skip_reason.skip_message
    assert skipped.cursor != again.cursor  # the touch is seen once, not re-hashed every tick

    # a daemon starting on the published landing zone (no cursor) has nothing to do either
    assert not tick(instance, paths, None).run_requests

    # the served file replaced behind the publication's back: its record no longer holds, run again
    paths.serving_db.write_bytes(b"someone else's file")
    bump_mtime(touched)
    assert the_request(tick(instance, paths, skipped.cursor), paths).run_key == unpublished.run_key


def test_a_correction_after_the_publication_requests_a_run(paths, instance):
    publish_now(paths)
    first = tick(instance, paths, None)
    assert not first.run_requests

    correct_a_payment(paths.sources)
    request = the_request(tick(instance, paths, first.cursor), paths)
    assert changed(request) == {"finance"}


def night_tick(instance, paths: PfpwPaths, repository: bool = False) -> dg.RunRequest:
    ctx = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=NIGHT,
        resources={"paths": paths},
        repository_def=defs.get_repository_def() if repository else None,
    )
    request = nightly_schedule(ctx)
    assert isinstance(request, dg.RunRequest)
    return request


def test_the_schedule_runs_at_two_in_shanghai():
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.job_name == "pfpw_nightly"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Asia/Shanghai")


def test_the_schedule_requests_the_whole_job_when_something_changed(paths, instance):
    request = night_tick(instance, paths)  # nothing published yet
    assert request.asset_selection is None
    assert request.run_key is None  # a night is never skipped as a duplicate of an earlier one
    assert request.tags["pfpw/trigger"] == "schedule"
    assert request.tags["pfpw/state"] == state.current_state(paths.sources, TEST_KEY).digest[:16]
    assert "pfpw/nothing_new_since" not in request.tags

    publish_now(paths)
    correct_a_payment(paths.sources)
    request = night_tick(instance, paths)
    assert request.asset_selection is None
    assert "pfpw/nothing_new_since" not in request.tags


def test_the_schedule_records_only_the_state_when_nothing_is_new(paths, instance):
    publish_now(paths)
    bump_mtime(paths.sources / "reference" / "villages.csv")  # touched, not changed: still nothing new
    request = night_tick(instance, paths)
    assert request.asset_selection == [STATE_KEY]
    assert request.tags["pfpw/nothing_new_since"] == "run-published"
    assert request.tags["pfpw/trigger"] == "schedule"
    # the selection is a valid subset of the job: only the state record runs
    subset = defs.resolve_job_def("pfpw_nightly").get_subset(asset_selection=set(request.asset_selection))
    assert subset.asset_layer.executable_asset_keys == {STATE_KEY}


def test_a_change_waits_one_interval_for_the_landing_zone_to_settle(paths, instance):
    """A delivery seen for the first time is acted on only when the next tick sees it unchanged."""
    first = tick(instance, paths, None)
    correct_a_payment(paths.sources)
    moving = raw_tick(instance, paths, first.cursor)
    assert not moving.run_requests and "settle" in moving.skip_reason.skip_message
    correct_a_payment(paths.sources)  # still being written: wait again
    still = raw_tick(instance, paths, moving.cursor)
    assert not still.run_requests
    assert the_request(raw_tick(instance, paths, still.cursor), paths)


def test_a_landing_zone_back_to_an_earlier_state_after_a_newer_publication_runs_again(paths, instance):
    """State A runs, B is published, then B's correction is withdrawn: A must be run again, under a new key."""
    first = tick(instance, paths, None)
    request_a = the_request(first, paths)
    payments = paths.sources / "finance" / "2012-03" / "fee_payments.csv"
    original = payments.read_bytes()
    correct_a_payment(paths.sources)
    b = tick(instance, paths, first.cursor)
    the_request(b, paths)
    publish_now(paths, "run-b")
    payments.write_bytes(original)
    bump_mtime(payments)
    back = the_request(tick(instance, paths, b.cursor), paths)
    assert back.run_key != request_a.run_key and back.run_key.endswith(":run-b")


# ------------------------------------------------------------------ incremental nights


def publish_clean(paths: PfpwPaths, run_id: str = "run-published") -> None:
    """A publication the warehouse still holds exactly: no run wrote the lake or the working database since."""
    publish_now(paths, run_id)
    paths.working_db.write_bytes(b"")
    state.record_writer(paths.warehouse, run_id)


def test_a_correction_after_a_clean_publication_requests_only_what_depends_on_it(paths, instance):
    publish_clean(paths)
    first = tick(instance, paths, None)
    assert not first.run_requests  # first sight, but the content is the publication's
    correct_a_payment(paths.sources)
    result = tick(instance, paths, first.cursor)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags["pfpw/rebuild_from"] == "finance"
    selected = set(request.asset_selection)
    assert {
        STATE_KEY,
        SERVING_KEY,
        extract_key("finance_fee_payments"),
        mart_key("fee_collection"),
    } <= selected
    assert extract_key("township_births") not in selected  # the townships' workbooks are not visited
    assert mart_key("population_indicators") not in selected  # nor rebuilt what does not depend on finance
    # a valid subset of the job
    subset = defs.resolve_job_def("pfpw_nightly").get_subset(asset_selection=selected)
    assert subset.asset_layer.executable_asset_keys == selected


@pytest.mark.parametrize(
    "spoil",
    ["a run wrote since", "no working database", "reference table changed", "another key"],
)
def test_anything_but_a_clean_publication_requests_the_whole_job(paths, instance, spoil, monkeypatch):
    publish_clean(paths)
    correct_a_payment(paths.sources)
    if spoil == "a run wrote since":  # e.g. a run that failed its audits after building
        state.record_writer(paths.warehouse, "run-failed-later")
    elif spoil == "no working database":
        paths.working_db.unlink()
    elif spoil == "reference table changed":  # validation reads it: every file depends on it
        change_a_reference_table(paths.sources)
    else:
        monkeypatch.setenv("PFPW_PII_KEY", "another-key")
    request = night_tick(instance, paths, repository=True)
    assert request.asset_selection is None
    assert "pfpw/rebuild_from" not in request.tags


def test_the_schedule_plans_the_same_incremental_night_as_the_sensor(paths, instance):
    publish_clean(paths)
    withdraw_a_month(paths.sources)  # finance/2012-02: finance, and the month folders (covered years)
    request = night_tick(instance, paths, repository=True)
    assert request.tags["pfpw/rebuild_from"] == "finance,folders"
    selected = set(request.asset_selection)
    assert mart_key("population_indicators") in selected  # covered years feed every mart
    assert extract_key("township_births") not in selected


def test_a_landing_zone_that_changes_after_planning_fails_the_run_before_writing(
    paths, instance, monkeypatch
):
    """Planned for finance, then a township workbook changes: the run must not record it as published."""
    publish_clean(paths)
    correct_a_payment(paths.sources)
    request = night_tick(instance, paths, repository=True)
    delete_a_file(paths.sources)
    monkeypatch.setenv("PFPW_SOURCES_DIR", str(paths.sources))
    monkeypatch.setenv("PFPW_WAREHOUSE_DIR", str(paths.warehouse))
    job = defs.resolve_job_def("pfpw_nightly").get_subset(asset_selection={STATE_KEY})
    result = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "changed after this run was planned to rebuild from 'finance'" in str(failure.event_specific_data)
    assert "township" in str(failure.event_specific_data)
    assert state._read_json(paths.warehouse / "state" / "writer.json") == {"run_id": "run-published"}


def test_the_schedule_asks_for_the_executor_the_deployment_chose(paths, instance, monkeypatch):
    """PFPW_EXECUTOR=multiprocess (the daemon's environment) runs the nightly job's steps side by side."""
    assert night_tick(instance, paths).run_config == {}  # in-process unless asked
    monkeypatch.setenv("PFPW_EXECUTOR", "multiprocess")
    monkeypatch.setenv("PFPW_WORKERS", "3")
    request = night_tick(instance, paths)
    assert request.run_config == {"execution": {"config": {"mode": "multiprocess", "max_concurrent": 3}}}
    job = defs.resolve_job_def("pfpw_nightly")
    assert job.executor_def.name == "pfpw_executor"
    publish_now(paths)
    assert night_tick(instance, paths).run_config == {}  # nothing new: the state record alone, in-process
