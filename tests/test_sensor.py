"""The sensor requests runs for the month partitions whose files changed, and only those."""

import json
import os
import shutil

import dagster as dg

from dagster_project.definitions import defs
from dagster_project.partitions import reporting_month
from dagster_project.resources import PfpwPaths
from dagster_project.sensors import landing_zone_sensor
from tests.conftest import SAMPLE


def evaluate(instance, paths, cursor):
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"paths": paths}, definitions=defs
    )
    return landing_zone_sensor(ctx)


def test_a_corrected_file_requests_its_month_only(tmp_path, instance):
    src = tmp_path / "sources"
    shutil.copytree(SAMPLE / "reference", src / "reference")
    for month in ("2012-02", "2012-03"):
        shutil.copytree(SAMPLE / "township" / month, src / "township" / month)
        shutil.copytree(SAMPLE / "finance" / month, src / "finance" / month)
    paths = PfpwPaths(sources_dir=str(src), warehouse_dir=str(tmp_path / "wh"))

    first = evaluate(instance, paths, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["2012-02", "2012-03"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["2012-02", "2012-03"]
    instance.add_dynamic_partitions(reporting_month.name, ["2012-02", "2012-03"])

    quiet = evaluate(instance, paths, first.cursor)
    assert not quiet.run_requests

    corrected = src / "finance" / "2012-03" / "fee_payments.csv"
    corrected.write_bytes(corrected.read_bytes() + "JKX,D,2012-03-05,1.00,现金\r\n".encode())
    os.utime(corrected, ns=(corrected.stat().st_atime_ns, corrected.stat().st_mtime_ns + 10**9))
    again = evaluate(instance, paths, first.cursor)
    assert [r.partition_key for r in again.run_requests] == ["2012-03"]
    selected = {k.to_user_string() for k in again.run_requests[0].asset_selection}
    assert {"lake/finance_fee_payments", "lake/finance_fee_decisions", "marts/fee_collection"} <= selected
    assert not any(k.startswith("lake/township") for k in selected)  # other agencies are not re-ingested
    assert json.loads(again.cursor) != json.loads(first.cursor)
