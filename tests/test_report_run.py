"""The report off the night's critical path (issue 27): the night's run ends with the publication; the
report is its own run (``pfpw_report``) after it, keeps a page already built from the same publication and
code, and under the daemon follows a night through the ``report_after_publication`` sensor."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import pytest

from dagster_project.defs.automation.jobs import JOB_NAME, REPORT_JOB_NAME
from dagster_project.defs.automation.sensors import report_after_publication
from dagster_project.defs.ingestion.keys import REPORT_KEY, SERVING_KEY
from dagster_project.pipeline import report_due
from dagster_project.report.build import STAMP, build_report, current_report

pytestmark = pytest.mark.xdist_group("sample_run")


def _runs(instance: dg.DagsterInstance, job: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(job_name=job)))


def test_the_night_ends_with_its_publication_and_the_report_is_its_own_run_after_it(sample_run):
    assert sample_run["code"] == 0
    with dg.DagsterInstance.from_config(str(sample_run["dagster_home"])) as instance:
        (night,) = _runs(instance, JOB_NAME)
        (report,) = _runs(instance, REPORT_JOB_NAME)
        assert night.status == report.status == dg.DagsterRunStatus.SUCCESS
        assert report.tags["pfpw/after"] == night.run_id
        assert report.tags["pfpw/pid"] == night.tags["pfpw/pid"]  # the process running it, for dead_runs.py
        night_steps = {e.step_key for e in instance.all_logs(night.run_id) if e.step_key}
        report_steps = {e.step_key for e in instance.all_logs(report.run_id) if e.step_key}
        assert "serving__serving_database" in night_steps and not any("report" in s for s in night_steps)
        assert report_steps == {"report__survey_report"}
        # the report's run started once the night's had ended: the night did not wait for it
        night_record = instance.get_run_record_by_id(night.run_id)
        report_record = instance.get_run_record_by_id(report.run_id)
        assert report_record.start_time >= night_record.end_time
        served = instance.fetch_materializations(SERVING_KEY, limit=1).records[0]
        written = instance.fetch_materializations(REPORT_KEY, limit=1).records[0]
        assert (served.run_id, written.run_id) == (night.run_id, report.run_id)
        assert written.asset_materialization.metadata["publication_run_id"].value == night.run_id
    stamp = json.loads((sample_run["warehouse"] / "report" / STAMP).read_text(encoding="utf-8"))
    assert stamp["publication"] == night.run_id
    assert not report_due(sample_run["warehouse"])  # a nothing-new night would run no report


def test_a_page_of_the_served_publication_and_code_is_kept_and_anything_else_is_built_again(
    sample_run, tmp_path
):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(sample_run["warehouse"] / "serving.duckdb", warehouse / "serving.duckdb")
    assert report_due(warehouse) and current_report(warehouse) is None  # no page yet

    first = build_report(warehouse, reuse=True)
    page = warehouse / "report" / "index.html"
    assert not first.reused and page.is_file() and not report_due(warehouse)
    built = page.stat().st_mtime_ns

    again = build_report(warehouse, reuse=True)  # the report run after a night with nothing new published
    assert again.reused and (again.year, again.districts, again.run_id) == (
        first.year,
        first.districts,
        first.run_id,
    )
    assert page.stat().st_mtime_ns == built

    stamp_path = warehouse / "report" / STAMP
    stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    for key, other in (("code", "another version of the code"), ("publication", "another publication")):
        stamp_path.write_text(json.dumps({**stamp, key: other}), encoding="utf-8")
        assert report_due(warehouse), key
    stamp_path.write_text(json.dumps(stamp), encoding="utf-8")
    page.unlink()  # a page removed by hand
    assert report_due(warehouse)
    rebuilt = build_report(warehouse, reuse=True)
    assert not rebuilt.reused and page.is_file()
    assert not build_report(warehouse).reused  # `pfpw report` always builds it


def test_the_report_sensor_follows_a_daemon_night_that_published_only(sample_run):
    with dg.DagsterInstance.from_config(str(sample_run["dagster_home"])) as instance:
        (night,) = _runs(instance, JOB_NAME)
        (success,) = [
            e.dagster_event for e in instance.all_logs(night.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        ]

        def evaluate(tags: dict[str, str]):
            run = night.with_tags({**night.tags, **tags}) if tags else night
            context = dg.build_run_status_sensor_context(
                sensor_name=report_after_publication.name,
                dagster_event=success,
                dagster_instance=instance,
                dagster_run=run,
            )
            return report_after_publication(context)

        assert night.tags["pfpw/trigger"] == "cli"
        skipped = evaluate({})
        assert isinstance(skipped, dg.SkipReason) and "runs its report itself" in skipped.skip_message
        for trigger in ("schedule", "sensor"):
            request = evaluate({"pfpw/trigger": trigger})
            assert isinstance(request, dg.RunRequest), trigger
            assert request.run_key == night.run_id and request.tags == {"pfpw/after": night.run_id}
        nothing_new = evaluate({"pfpw/trigger": "schedule", "pfpw/nothing_new_since": "an earlier run"})
        assert isinstance(nothing_new, dg.SkipReason) and "nothing new" in nothing_new.skip_message
    assert report_after_publication.job_name == REPORT_JOB_NAME


def test_a_failed_report_run_says_so_and_names_its_cause(tmp_path, capsys):
    """A report run that cannot build (here: no served file) is FAILED with its root cause, and `pfpw run`'s
    exit status counts it (Outcome.all_succeeded), while the night's own outcome stands."""
    from dagster_project.outcome import Outcome
    from dagster_project.pipeline import run_report

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        report = run_report(tmp_path / "sources", warehouse, instance, after="night-1")
        (run,) = _runs(instance, REPORT_JOB_NAME)
    assert not report.success and run.status == dg.DagsterRunStatus.FAILURE
    assert run.tags["pfpw/after"] == "night-1"
    summary = report.summary()
    assert summary.startswith(f"report run {run.run_id}: FAILED")
    assert "NoServingDatabase" in summary or "no " + str(warehouse / "serving.duckdb") in summary
    night = Outcome(success=True, run_id="night-1", report=report)
    assert night.success and not night.all_succeeded
    assert summary in night.summary()


def test_a_stamp_cut_short_or_edited_builds_the_page_again(tmp_path):
    """The stamp is read as untrusted: missing or ill-typed fields mean the page is built again, never a crash."""
    import duckdb

    from dagster_project.state import code_digest

    (tmp_path / "report").mkdir()
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute("create schema audit; create table audit.publication as select 'pub-1' as run_id")
    con.close()
    (tmp_path / "report" / "index.html").write_text("<html></html>", encoding="utf-8")
    whole = {
        "publication": "pub-1",
        "code": code_digest(),
        "year": 2012,
        "districts": ["331003"],
        "pdf": False,
    }
    stamp = tmp_path / "report" / STAMP
    stamp.write_text(json.dumps(whole), encoding="utf-8")
    assert current_report(tmp_path).reused  # the whole stamp: kept
    for broken in (
        {k: v for k, v in whole.items() if k != "year"},
        {**whole, "year": "MMXII"},
        {**whole, "districts": 7},
        ["not", "an", "object"],
    ):
        stamp.write_text(json.dumps(broken), encoding="utf-8")
        assert current_report(tmp_path) is None, broken
    stamp.write_text('{"publication": "pub-1", "co', encoding="utf-8")  # cut short
    assert current_report(tmp_path) is None
