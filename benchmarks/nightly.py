"""The nights of the shipped sample, timed in one session: cold, nothing new, one corrected file.

    .venv/bin/python benchmarks/nightly.py [--repeat 2] [--out benchmarks/out]

Each figure is the wall time of a whole `pfpw run` (a new process, as cron or a person runs
it), the median of ``--repeat`` measurements; the ratios are to the cold run of the same
session. Prints a Markdown table and appends it, dated, to benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import pfpw_command  # noqa: E402  (`pfpw run` as the tests run it; scale.py imports it from here)

SAMPLE = ROOT / "sources"
CORRECTED = Path("finance") / "2012-06" / "fee_payments.csv"


def pfpw_run(sources: Path, warehouse: Path, home: Path, log: Path | None = None) -> float:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PFPW_PII_KEY": "bench-key"}
    cmd = pfpw_command(sources, warehouse)
    t = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t
    if result.returncode != 0:
        raise SystemExit(f"pfpw run failed:\n{result.stdout}\n{result.stderr}")
    if log:
        log.write_text(result.stdout, encoding="utf-8")
    return seconds


def append_payment(path: Path, payment: str) -> None:
    """A finance payments file re-delivered with one more line (``payment``), in the file's own line ending."""
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    path.write_bytes(data + (b"" if data.endswith(newline) else newline) + payment.encode() + newline)


def correct(sources: Path, n: int) -> None:
    """A re-delivered finance file: one more payment (a different one each time)."""
    append_payment(sources / CORRECTED, f"JKBENCH{n:06d},台黄计征〔2012〕0212号,2012-06-28,{100 + n}.00,现金")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "nightly"))
    args = parser.parse_args()
    times: dict[str, list[float]] = {"cold": [], "nothing new": [], "one corrected file": []}
    for i in range(args.repeat):
        base = Path(args.out) / f"r{i}"
        shutil.rmtree(base, ignore_errors=True)
        shutil.copytree(SAMPLE, base / "sources")
        (base / "home").mkdir(parents=True)
        run = (base / "sources", base / "warehouse", base / "home")
        times["cold"].append(pfpw_run(*run, log=base / "cold.txt"))
        times["nothing new"].append(pfpw_run(*run, log=base / "nothing-new.txt"))
        correct(base / "sources", i)
        times["one corrected file"].append(pfpw_run(*run, log=base / "corrected.txt"))
    cold = statistics.median(times["cold"])
    lines = [
        f"### Nights of the sample — {dt.date.today()}, {os.cpu_count()} cores, median of {args.repeat}",
        "",
        "| night | pfpw run s | share of the cold run | target |",
        "|---|---|---|---|",
    ]
    targets = {"cold": "", "nothing new": "≤ 15%", "one corrected file": "≤ 60%"}
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.1f} | {100 * median / cold:.0f}% | {targets[name]} |")
    text = "\n".join(lines)
    print(text)
    with (ROOT / "benchmarks" / "results.md").open("a", encoding="utf-8") as f:
        f.write(text + "\n\n")


if __name__ == "__main__":
    main()
