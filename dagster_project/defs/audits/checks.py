"""The GX suites as Dagster asset checks on the marts (blocking), plus plausibility warnings."""

import json

import dagster as dg
import duckdb
import pandas as pd

from dagster_project.checks.suites import (
    MARTS,
    MartSpec,
    blocking_suite,
    district_sum_frame,
    district_sum_suite,
    row_floor,
    warning_suite,
)
from dagster_project.defs.ingestion.keys import mart_key
from dagster_project.defs.resources import PfpwPaths


def read_mart(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    return con.sql(f"select * from marts.{name}").df()


def previous_row_counts(paths: PfpwPaths) -> dict[str, int]:
    """Rows of each mart at the last publication (audit.mart_row_counts of the serving file); none before it."""
    if not paths.serving_db.exists():
        return {}
    try:
        con = duckdb.connect(str(paths.serving_db), read_only=True)
        try:
            rows = con.execute("select mart, row_count from audit.mart_row_counts").fetchall()
        finally:
            con.close()
    except duckdb.Error:
        return {}
    return {mart: int(count) for mart, count in rows if count is not None}


def _blocking_description(spec: MartSpec) -> str:
    return (
        f"Great Expectations suite {spec.name}.blocking: grain {', '.join(spec.grain)} unique, keys not "
        "NULL, rates in 0–100 or NULL, counts and amounts ≥ 0, row count not down by more than the "
        "configured share since the last publication"
        + ("; and district = sum of its townships for every count and amount." if spec.is_district else ".")
    )


GX_SPECS = [
    dg.AssetCheckSpec(
        "gx_expectations", asset=mart_key(s.name), blocking=True, description=_blocking_description(s)
    )
    for s in MARTS
] + [
    dg.AssetCheckSpec(
        "gx_plausibility",
        asset=mart_key(s.name),
        blocking=False,
        description="Warning only (does not block publication): "
        + ", ".join(f"{c} in [{lo}, {hi}]" for c, (lo, hi) in s.warn_bounds.items())
        + ".",
    )
    for s in MARTS
    if s.warn_bounds
]


def gx_results(paths: PfpwPaths, only: set[str] | None = None) -> list[dg.AssetCheckResult]:
    """Every mart's suites with one GX context, then the Data Docs pages of these validations, once."""
    from dagster_project.checks.gx_runner import GxRunner  # GX's import is slow: only when checking

    runner = GxRunner.for_warehouse(paths.warehouse)
    results = []
    previous = previous_row_counts(paths)
    # one connection for every mart read, bounded as the pipeline's others
    con = duckdb.connect(
        str(paths.working_db), read_only=True, config=paths.settings.duckdb_config(paths.warehouse)
    )
    try:
        for spec in MARTS:
            if only is not None and spec.name not in only:
                continue
            df = read_mart(con, spec.name)
            floor = row_floor(spec, previous.get(spec.name))
            outcomes = [runner.run(blocking_suite(spec, df), df, floor.parameters, floor.hints)]
            if spec.is_district:
                sums, diffs = district_sum_frame(df, read_mart(con, spec.district_of), spec)
                outcomes.append(runner.run(district_sum_suite(spec, diffs), sums))
            failed = [f"{o.suite}: {f}" for o in outcomes for f in o.failed]
            results.append(
                dg.AssetCheckResult(
                    asset_key=mart_key(spec.name),
                    check_name="gx_expectations",
                    passed=not failed,
                    metadata={
                        "expectations_evaluated": sum(o.evaluated for o in outcomes),
                        "failed_expectations": dg.MetadataValue.json(failed),
                        "rows": len(df),
                        "data_docs": dg.MetadataValue.path(str(runner.docs / "index.html")),
                    },
                    description="; ".join(failed[:5]) if failed else None,
                )
            )
            if spec.warn_bounds:
                outcome = runner.run(warning_suite(spec), df)
                results.append(
                    dg.AssetCheckResult(
                        asset_key=mart_key(spec.name),
                        check_name="gx_plausibility",
                        passed=outcome.success,
                        severity=dg.AssetCheckSeverity.WARN,
                        metadata={"failed_expectations": dg.MetadataValue.json(outcome.failed)},
                    )
                )
    finally:
        con.close()
        runner.build_docs()  # failures too: the Data Docs are where a failed audit is read
    return results


@dg.multi_asset_check(
    specs=GX_SPECS,
    name="gx_audits",
    description="The Great Expectations suites of every mart, in one step with one GX context; the Data Docs "
    "pages of the run are built once at the end (offline). A run that rebuilds some marts audits those.",
    can_subset=True,
    op_tags={"pfpw/stage": "audits"},
)
def gx_audits(context: dg.AssetCheckExecutionContext, paths: PfpwPaths):
    selected = set(context.selected_asset_check_keys)
    only = {k.asset_key.path[-1] for k in selected}
    for result in gx_results(paths, only=only):
        if dg.AssetCheckKey(result.asset_key, result.check_name) in selected:
            yield result


GX_CHECKS = [gx_audits]


def failed_expectations(metadata: dict) -> list[str]:
    value = metadata.get("failed_expectations")
    data = getattr(value, "data", value)
    if isinstance(data, str):
        data = json.loads(data)
    return list(data or [])
