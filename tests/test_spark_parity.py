"""The same dbt models on Apache Spark give what they give on DuckDB (issue 10), every cell of every mart and audit
model compared.

Spark runs as `.spark-venv`'s dbt (`make spark-install`) in a subprocess, so pyspark never enters this process nor
.venv (its import ends a process whose __main__ has no file, half-way through great_expectations). Two landing
zones, each ingested once: the shipped sample, and one the project has never seen (`pfpw generate`: two districts,
another seed, the 两非 cases never delivered, a few quarantined payment rows so the audit's list constructs have
rows). DuckDB builds and tests both (`dbt build`); Spark builds and tests the sample (`dbt build`: its data tests
and unit tests must pass too) and builds the second (`dbt run`: its marts and audit tables equal DuckDB's, which
passed the same data tests). The Spark tables are read from their Parquet files by DuckDB, as publication would
read them. The wall times of the four dbt invocations go to $PFPW_TEST_ARTIFACTS/spark_parity_times.json.

Equal means: the same columns with the same types, the same number of rows, every non-DOUBLE cell identical
(counts, amounts, codes, dates, lists), and every DOUBLE cell (rates) within 1e-9 relative of DuckDB's, rows
matched on the model's key (its unique_combination or unique test).

The ingestion contract's types are declared once more in the lake sources' yml (Spark registers each lake folder
with them); the first test checks they agree, and needs no Spark.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from dagster_project.ingest.validate import lake_schema
from dagster_project.lake import Lake
from dagster_project.schemas.contract import EXTRACTS
from dagster_project.settings import PROJECT_DIR
from tests.conftest import MARTS, TEST_KEY, ingest_all

pytestmark = pytest.mark.xdist_group("spark_parity")

DBT_DIR = PROJECT_DIR / "dbt"
DUCKDB_DBT = Path(sys.executable).parent / "dbt"
SPARK_DBT = PROJECT_DIR / ".spark-venv" / "bin" / "dbt"
COMPARED_LAYERS = ("marts", "audit")
RELATIVE_TOLERANCE = 1e-9  # rates (DOUBLE); everything else exactly
ARTIFACTS = Path(os.environ.get("PFPW_TEST_ARTIFACTS") or PROJECT_DIR / "tests" / "artifacts")

# Appended to one payments file of the generated zone: quarantined, with several reasons each (one shared by two
# rows), so that audit.quarantine_rows and audit.quarantine_summary have rows on both engines.
BAD_PAYMENTS = (
    "JKBAD000001,台黄计征〔2012〕0001号,2012/03/09,-5.00,信用卡\n"
    "JKBAD000002,台黄计征〔2012〕0001号,2012/03/10,1.234,现金\n"
    "JKBAD000003,台黄计征〔2012〕0001号,2012-03-11,0.00,银行转账\n"
)


def spark_type(dtype: pl.DataType) -> str:
    """A polars type of the lake as Spark DDL."""
    simple = {
        pl.String: "string",
        pl.Date: "date",
        pl.Int32: "int",
        pl.Int64: "bigint",
        pl.Boolean: "boolean",
    }
    for base, name in simple.items():
        if dtype == base:
            return name
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime) and dtype.time_zone == "UTC":
        return "timestamp"  # an instant: Spark's TIMESTAMP is with local time zone
    if isinstance(dtype, pl.List):
        return f"array<{spark_type(dtype.inner)}>"
    if isinstance(dtype, pl.Struct):
        return "struct<" + ",".join(f"{f.name}:{spark_type(f.dtype)}" for f in dtype.fields) + ">"
    raise AssertionError(f"no Spark type for {dtype}")


def ingest_targets_of(sources: Path, warehouse: Path) -> None:
    """reference/targets.csv into the warehouse's lake, as the pipeline's targets asset does (ingest_all reads the
    agencies' extracts only)."""
    from dagster_project.ingest.targets import ingest_targets
    from dagster_project.reference import load_reference

    ingest_targets(
        sources, Lake(warehouse), load_reference(sources), TEST_KEY, 1 << 20, run_id="spark-parity"
    )


def test_lake_sources_declare_the_ingestion_contracts_types():
    declared = {}
    for path in (DBT_DIR / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            if "/**/*.parquet" not in source.get("config", {}).get("meta", {}).get("external_location", ""):
                continue
            for table in source["tables"]:
                declared[f"{source['name']}_{table['name']}"] = {
                    c["name"]: c.get("data_type") for c in table["columns"]
                }
    expected = {spec.name: {c: spark_type(t) for c, t in lake_schema(spec).items()} for spec in EXTRACTS}
    assert declared == expected


# ------------------------------------------------------------------------------------------------ the builds
def dbt(executable: Path, warehouse: Path, args: list[str], target_path: Path) -> float:
    """One dbt invocation on a warehouse, its own target and log folders; its wall time in seconds."""
    env = {
        **os.environ,
        "PFPW_WAREHOUSE_DIR": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(DBT_DIR),
    }
    env.pop("VIRTUAL_ENV", None)
    command = [
        str(executable),
        *args,
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=1500)
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return seconds


def results(target_path: Path) -> dict[str, str]:
    """{unique id: status} of the last dbt invocation with this target folder."""
    run = json.loads((target_path / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in run["results"]}


def with_delivery_status(warehouse: Path) -> Path:
    """The delivery status the pipeline writes after ingestion (ingest_all does not): audit.delivery_status's rows."""
    from dagster_project.defs.ingestion.ledger import write_delivery_status

    lake = Lake(warehouse)
    write_delivery_status(lake, pl.read_parquet(lake.ledger_snapshot_path))
    return warehouse


# session-scoped: resolved before the session's sample_lake, so that a skip costs nothing
@pytest.fixture(scope="session")
def spark_dbt() -> Path:
    if not SPARK_DBT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SPARK_DBT} is missing: CI runs `make spark-install` before `make test`")
        pytest.skip("the Spark environment is not installed: `make spark-install` (or `make spark-test`)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Spark needs Java 17: no java on PATH and no JAVA_HOME")
    return SPARK_DBT


@pytest.fixture(scope="module")
def builds(spark_dbt, sample_lake, tmp_path_factory) -> dict:
    """Both zones built on both engines; {zone: {warehouse, duckdb/spark target folders}} and the wall times."""
    base = tmp_path_factory.mktemp("spark_parity")
    # the session's ingested sample, copied: its own folder stays untouched
    shutil.copytree(sample_lake / "lake", base / "sample" / "lake")
    # as `pfpw run` does (its targets asset): the target marts are compared with rows in them
    ingest_targets_of(PROJECT_DIR / "sources", base / "sample")
    sample = with_delivery_status(base / "sample")

    generated = base / "generated_sources"
    from dagster_project.cli import main

    assert main(["generate", "--out", str(generated), "--districts", "2", "--seed", "7"]) == 0
    for never_delivered in generated.glob("court/*/liangfei_cases.jsonl"):
        never_delivered.unlink()  # an extract with no delivery at all: only the lake's _empty.parquet
    payments = generated / "finance" / "2012-03" / "fee_payments.csv"
    text = payments.read_text(encoding="utf-8-sig")
    payments.write_text(text + ("" if text.endswith("\n") else "\n") + BAD_PAYMENTS, encoding="utf-8-sig")
    ingest_all(generated, base / "generated")
    ingest_targets_of(generated, base / "generated")
    second = with_delivery_status(base / "generated")

    times = {}
    zones = {}
    for name, warehouse, spark_command in (("sample", sample, "build"), ("generated", second, "run")):
        zone = {"warehouse": warehouse, "duckdb": base / f"{name}_duckdb", "spark": base / f"{name}_spark"}
        times[f"{name} duckdb build"] = dbt(DUCKDB_DBT, warehouse, ["build"], zone["duckdb"])
        times[f"{name} spark {spark_command}"] = dbt(
            spark_dbt, warehouse, [spark_command, "--target", "spark"], zone["spark"]
        )
        zones[name] = zone
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "spark_parity_times.json").write_text(json.dumps(times, indent=2) + "\n")
    print("wall times (s):", {k: round(v, 1) for k, v in times.items()})
    return {"zones": zones, "times": times}


# ------------------------------------------------------------------------------------------------ comparison
def compared_models(manifest: dict) -> dict[str, tuple[str, list[str]]]:
    """{model: (schema, key columns)} of every mart and audit model, the key from its grain test."""
    models = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["fqn"][1] in COMPARED_LAYERS:
            models[node["unique_id"]] = (node["name"], node["schema"], [])
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        owner = node.get("attached_node")
        if node["resource_type"] != "test" or owner not in models or models[owner][2]:
            continue
        if meta.get("name") == "unique_combination":
            models[owner][2].extend(meta["kwargs"]["columns"])
        elif meta.get("name") == "unique":
            models[owner][2].append(meta["kwargs"]["column_name"])
    return {name: (schema, key) for name, schema, key in models.values()}


def compare(zone: dict) -> dict:
    """Every mart and audit table of DuckDB against Spark's Parquet: what differs, and what was compared."""
    manifest = json.loads((zone["duckdb"] / "manifest.json").read_text())
    warehouse = zone["warehouse"]
    con = duckdb.connect()
    con.execute(f"attach '{warehouse / 'warehouse.duckdb'}' as duck (read_only)")
    problems, tables, cells, doubles, doubles_identical = [], 0, 0, 0, 0
    for model, (schema, key) in sorted(compared_models(manifest).items()):
        duck = f"duck.{schema}.{model}"
        files = warehouse / "spark" / "warehouse" / f"{schema}.db" / model
        spark = f"read_parquet('{files}/*.parquet')"
        columns = con.execute(f"describe select * from {duck}").fetchall()
        spark_columns = con.execute(f"describe select * from {spark}").fetchall()
        if [c[:2] for c in columns] != [c[:2] for c in spark_columns]:
            problems.append(
                f"{schema}.{model}: columns {[c[:2] for c in columns]} != {[c[:2] for c in spark_columns]}"
            )
            continue
        rows = con.execute(f"select count(*) from {duck}").fetchone()[0]
        spark_rows = con.execute(f"select count(*) from {spark}").fetchone()[0]
        if rows != spark_rows:
            problems.append(f"{schema}.{model}: {rows} rows on DuckDB, {spark_rows} on Spark")
            continue
        tables += 1
        cells += rows * len(columns)
        rates = [name for name, dtype, *_ in columns if dtype == "DOUBLE"]
        exact = ", ".join(f'"{name}"' for name, *_ in columns if name not in rates)
        for left, right, side in ((duck, spark, "DuckDB"), (spark, duck, "Spark")):
            extra = con.execute(
                f"select count(*) from (select {exact} from {left} except all select {exact} from {right})"
            ).fetchone()[0]
            if extra:
                problems.append(f"{schema}.{model}: {extra} rows only on {side} (columns other than rates)")
        if not rates:
            continue
        assert key, f"{schema}.{model} has rates but no key test to match its rows on"
        on = " and ".join(f'd."{k}" is not distinct from s."{k}"' for k in key)
        for rate in rates:
            d, s = f'd."{rate}"', f's."{rate}"'
            matched, close, identical = con.execute(
                f"select count(*), "
                f"count(*) filter (where ({d} is null and {s} is null) or abs({d} - {s}) <= "
                f"{RELATIVE_TOLERANCE} * greatest(abs({d}), abs({s}))), "
                f"count(*) filter (where {d} is not distinct from {s}) "
                f"from {duck} as d join {spark} as s on {on}"
            ).fetchone()
            doubles += rows
            doubles_identical += identical
            if matched != rows or close != rows:
                problems.append(f"{schema}.{model}.{rate}: {rows - close} of {rows} beyond 1e-9 relative")
    con.close()
    return {
        "problems": problems,
        "models": len(compared_models(manifest)),
        "tables": tables,
        "cells": cells,
        "rate_cells": doubles,
        "rate_cells_identical": doubles_identical,
    }


# ------------------------------------------------------------------------------------------------ the tests
def test_sample_builds_and_passes_every_test_on_both_engines(builds):
    zone = builds["zones"]["sample"]
    duck, spark = results(zone["duckdb"]), results(zone["spark"])
    assert set(duck) == set(spark)
    for engine, statuses in (("DuckDB", duck), ("Spark", spark)):
        failed = {uid: s for uid, s in statuses.items() if s not in ("success", "pass")}
        assert not failed, f"{engine}: {failed}"
    kinds = {uid.split(".")[0] for uid in spark}
    assert {"model", "test", "unit_test", "operation"} <= kinds
    assert sum(uid.startswith("unit_test.") for uid in spark) >= 8


@pytest.mark.parametrize("zone", ["sample", "generated"])
def test_marts_and_audit_equal_cell_for_cell(builds, zone):
    compared = compare(builds["zones"][zone])
    print(zone, {k: v for k, v in compared.items() if k != "problems"})
    assert not compared["problems"], "\n".join(compared["problems"])
    # 17 marts (6 of them monthly, 2 of targets), 10 audit tables
    assert compared["tables"] == compared["models"] >= 27


def test_the_generated_zone_exercises_the_audit_list_constructs(builds):
    """The quarantine rows (list to string), their summary (unnest, sorted list), the two districts and an extract
    with no delivery are there."""
    warehouse = builds["zones"]["generated"]["warehouse"]
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    summary = con.execute(
        "select reason, rows_quarantined, example_rows from audit.quarantine_summary order by reason"
    ).fetchall()
    liangfei = con.execute("select sum(liangfei_cases) from marts.enforcement_outcomes_district").fetchone()[
        0
    ]
    districts = con.execute(
        "select distinct district_code from marts.population_indicators_district"
    ).fetchall()
    con.close()
    assert len(summary) >= 4 and any(n >= 2 and len(rows) >= 2 for _, n, rows in summary)
    assert sorted(districts) == [("331003",), ("331004",)]
    assert liangfei == 0


# ------------------------------------------------------------------------------------------------ the pipeline
@pytest.fixture(scope="module")
def spark_run(spark_dbt, tmp_path_factory) -> dict:
    """`PFPW_ENGINE=spark pfpw run` on a copy of the sample, as a user runs it: its own process (the engine is
    chosen when the definitions load), its own Dagster instance."""
    base = tmp_path_factory.mktemp("spark_run")
    shutil.copytree(PROJECT_DIR / "sources", base / "sources")
    (base / "dagster_home").mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", base / "dagster_home" / "dagster.yaml")
    env = {
        **os.environ,
        "PFPW_ENGINE": "spark",
        "PFPW_PII_KEY": TEST_KEY.decode(),  # the key the DuckDB reference was ingested under
        "DAGSTER_HOME": str(base / "dagster_home"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pfpw"), "run"]
        + ["--sources", str(base / "sources"), "--warehouse", str(base / "warehouse")],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    seconds = time.monotonic() - started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "spark_pfpw_run.txt").write_text(done.stdout + done.stderr)
    print(f"PFPW_ENGINE=spark pfpw run: {seconds:.0f} s")
    return {
        "code": done.returncode,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "warehouse": base / "warehouse",
    }


def test_pfpw_run_on_spark_audits_and_publishes(spark_run):
    assert spark_run["code"] == 0, spark_run["stdout"][-4000:] + spark_run["stderr"][-4000:]
    out = spark_run["stdout"]
    assert "(dbt on spark)" in out.splitlines()[0]
    assert "67 models built, 239 tests passed, 0 failed" in out
    assert "17 GX suites passed, 0 failed" in out and "published: serving.duckdb replaced" in out
    assert "births 6,287" in out and "sex ratio at birth 108.28" in out and "fee filing rate % 97.34" in out
    # Spark wrote the tables; the working database holds them as loaded from its Parquet
    assert (spark_run["warehouse"] / "spark" / "warehouse" / "marts.db" / "fee_collection").is_dir()


def test_pfpw_run_on_spark_serves_the_marts_duckdb_builds(spark_run, builds):
    """The served marts of the Spark pipeline equal, cell for cell and type for type, DuckDB's build of the same
    landing zone (the sample, ingested under the same key)."""
    served = spark_run["warehouse"] / "serving.duckdb"
    reference = builds["zones"]["sample"]["warehouse"] / "warehouse.duckdb"
    con = duckdb.connect()
    con.execute(f"attach '{served}' as served (read_only)")
    con.execute(f"attach '{reference}' as duck (read_only)")
    marts = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'duck' "
            "and schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    assert set(marts) == MARTS  # every mart of the dbt project
    for mart in marts:
        types = [
            con.execute(
                f"select column_name, data_type from duckdb_columns() where database_name = '{db}' "
                f"and schema_name = 'marts' and table_name = '{mart}' order by column_index"
            ).fetchall()
            for db in ("duck", "served")
        ]
        assert types[0] == types[1], mart
        for left, right in (("duck", "served"), ("served", "duck")):
            extra = con.execute(
                f"select count(*) from (select * from {left}.marts.{mart} except all select * from {right}.marts.{mart})"
            ).fetchone()[0]
            assert extra == 0, f"{mart}: {extra} rows only in {left}"
    lineage = con.execute(
        "select count(*) from served.audit.column_lineage where model = 'fee_collection' and column_name = 'filing_rate'"
    ).fetchone()[0]
    con.close()
    assert lineage >= 1  # column lineage from dbt's catalog on Spark
