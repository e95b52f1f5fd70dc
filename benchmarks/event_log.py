"""Dagster's SQLite event log against the one pfpw deploys, in one session.

    .venv/bin/python benchmarks/event_log.py [--checks 150] [--repeat 3]

A run of one asset with ``--checks`` asset checks (and one downstream asset) on a fresh instance
in a temporary DAGSTER_HOME, once with Dagster's default storage and once with deploy/dagster.yaml
(``PooledSqliteEventLogStorage``); the median wall time of ``--repeat`` runs each, after one warm-up.
The sample's `pfpw run` stores events for 74 assets and 205 checks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent


def assets(checks: int) -> list:
    @dg.asset(check_specs=[dg.AssetCheckSpec(f"c{i}", asset="a") for i in range(checks)])
    def a():
        yield dg.Output(1)
        for i in range(checks):
            yield dg.AssetCheckResult(check_name=f"c{i}", passed=True)

    @dg.asset(deps=[a])
    def b():
        return 2

    return [a, b]


def measure(deployed: bool, checks: int, repeat: int) -> tuple[str, float]:
    with tempfile.TemporaryDirectory(prefix="pfpw-eventlog-") as home:
        if deployed:
            shutil.copy(ROOT / "deploy" / "dagster.yaml", Path(home) / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = home
        instance = dg.DagsterInstance.get()
        defs = assets(checks)
        dg.materialize(defs, instance=instance)  # warm-up: imports, the index database
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            assert dg.materialize(defs, instance=instance).success
            times.append(time.perf_counter() - t0)
        name = type(instance.event_log_storage).__name__
        instance.dispose()
        return name, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(deployed, args.checks, args.repeat) for deployed in (False, True)]
    print(f"| event log storage | a run of {args.checks} checks (s) | ratio |\n|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / rows[0][1]:.2f} |")


if __name__ == "__main__":
    import logging

    logging.getLogger("dagster").setLevel(logging.WARNING)
    main()
