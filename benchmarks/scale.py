"""Scale: on one landing zone, in one session, the floor, ingestion alone, and the nights of `pfpw run`.

    .venv/bin/python benchmarks/scale.py [--size sample] [--size 10x4 --size 10x10 ...] [--executor multiprocess]
                                         [--workers N] [--repeat N] [--out benchmarks/out/scale] [--no-record]

``make bench`` runs the sample, 10 × 4 and 10 × 10 (the same ten districts with 2.5× the history); the province,
``--size 90x10``, by hand (over an hour here).

For each size (``sample``: the shipped landing zone; ``KxY``: ``pfpw generate`` of K districts and Y
years), every step runs as its own process, as cron or a person runs it:

- **generate** (generated sizes): ``pfpw generate`` writing the landing zone;
- **floor**: every delivered file read with calamine / polars, every cell as text, one Parquet file per
  extract (``benchmarks/floor.py``, independent of the pipeline's code);
- **ingestion**: the pipeline's ingestion alone (``ingest_landing_zone``: read, validate,
  pseudonymise, write the lake and ledger), into an empty warehouse;
- **cold**: ``pfpw run`` with the last reporting month withheld from the landing zone;
- **increment**: the last month delivered, ``pfpw run`` again (the nightly increment);
- **nothing new**: ``pfpw run`` once more;
- **one payment more**: the last month's finance payments delivered again with one payment added, ``pfpw run``:
  the smallest night that has something new, so what a night costs whatever its data (dbt, GX, the report,
  publication), against which the increment's growth with its data is read;
- **the least night** (not a run: two parts of one, on the warehouse the nights left): what any night with something
  new pays above a nothing-new night before it builds a model, in fresh processes as the night starts them: the
  import of the definitions once ``dagster`` is loaded (a nothing-new night imports ``dagster`` and neither
  dagster-dbt nor the assets), and a ``dbt build`` that selects nothing (dbt's process, its adapter and its partial
  parse; on a copy of the warehouse's dbt target, the second of two). Their sum against the cold run above nothing
  new is a floor under the fixed cost (one payment more) on this stack, whatever the models.

``--repeat N`` (``make bench``: 3) measures the last three nights N times: the last month withheld again (a night
not timed, under ``PFPW_MAX_ROW_DROP_SHARE=0.5``: it loses a month of rows on purpose), then delivered, nothing new and
one payment more (another each time). Each of these nights' figures is the median of its N (the samples are listed in
its line): on this machine two runs of the same night differ by up to ±6 s on 40 s, more than the history adds.
The sizes take turns: every size's setup and cold run first, then round 1 of every size, round 2 of every size, and so
on, so that the machine's drift over the hour (10-25% here) falls on every size alike; the history line also lists
each round's ratio (10 × 10's month's night above nothing new against 10 × 4's of the same round) and their median.

Each night's ``pfpw run`` is timed whole; the report's own run after the publication (its stage line's seconds)
is listed on a line of its own (``report run after: …``) and the night's line is the rest, up to its publication.

Prints a table of wall time, peak RSS (the largest process of the step: pfpw, dbt or a step
process), rows, rows/s and the ratio to the floor, and appends it, dated, with the machine, to
benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.nightly import append_payment, pfpw_command  # noqa: E402

SAMPLE = ROOT / "sources"
AGENCIES = ("township", "hospital", "court", "finance")
MONTH = re.compile(r"^\d{4}-\d{2}$")


def timed(cmd: list[str], env: dict | None = None, log: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB of the largest process in its tree, stdout) of a command; stops on failure."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    if log:
        log.write_text(out, encoding="utf-8")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed:\n{out[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def landing_zone(size: str, out: Path) -> tuple[Path, float | None]:
    """The landing zone of a size, and the seconds `pfpw generate` took to write it (None: the sample)."""
    sources = out / "sources"
    if size == "sample":
        shutil.copytree(SAMPLE, sources)
        return sources, None
    m = re.fullmatch(r"(\d+)x(\d+)", size)
    if not m:
        raise SystemExit(f"size {size!r}: 'sample' or KxY (K districts, Y years)")
    districts, years = int(m[1]), int(m[2])
    cmd = [sys.executable, "-m", "dagster_project.cli", "generate", "--out", str(sources)]
    seconds, _, _ = timed([*cmd, "--districts", str(districts), "--years", str(years), "--seed", "2012"])
    os.sync()  # the new files written back before the floor is timed (else its reads wait on the writeback)
    return sources, seconds


def withhold_last_month(sources: Path, aside: Path) -> str:
    last = max(p.name for a in AGENCIES for p in (sources / a).iterdir() if MONTH.match(p.name))
    for agency in AGENCIES:
        folder = sources / agency / last
        if folder.is_dir():
            (aside / agency).mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(aside / agency / last))
    return last


def deliver(aside: Path, sources: Path) -> None:
    for folder in sorted(aside.glob("*/*")):
        shutil.move(str(folder), str(sources / folder.parent.name / folder.name))


def add_one_payment(sources: Path, month: str, n: int = 1) -> None:
    """``month``'s finance payments re-delivered with one payment more (receipt ``n``), for a decision of the same file."""
    path = sources / "finance" / month / "fee_payments.csv"
    first = path.read_text(encoding="utf-8-sig").splitlines()[1].split(",")
    append_payment(path, f"JKBENCH{n:06d},{first[1]},{month}-28,{100 + n}.00,{first[4]}")


def report_seconds(out: str) -> float:
    """The seconds of the report's own run after a night (its stage line), 0 when it did not run."""
    m = re.search(r"^\s+report\s+([\d.]+)s", out, re.M)
    return float(m[1]) if m else 0.0


def middle(values: list[float]) -> float:
    """The median of ``values`` (the upper middle one for an even count)."""
    return sorted(values)[len(values) // 2]


def night_seconds(sample: tuple[float, float, str]) -> float:
    """A night's seconds up to its publication: its ``timed`` wall time less the report's own run after it."""
    return sample[0] - report_seconds(sample[2])


def least_night(base: Path, repeat: int) -> tuple[float, float]:
    """(the definitions' import beyond ``dagster``, an empty ``dbt build``) in seconds: medians of ``repeat``."""
    env = {"PFPW_WAREHOUSE_DIR": str(base / "warehouse")}
    load = (
        "import time, dagster; t = time.perf_counter(); from dagster_project.definitions import defs; "
        "print(f'{time.perf_counter() - t:.3f}')"
    )
    target = base / "least-night-target"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base / "warehouse" / "dbt_target", target)
    dbt = [
        str(Path(sys.executable).parent / "dbt"),
        "build",
        "--select",
        "tag:pfpw_least_night_selects_nothing",
    ]
    dbt += [
        "--project-dir",
        str(ROOT / "dbt"),
        "--profiles-dir",
        str(ROOT / "dbt"),
        "--target-path",
        str(target),
    ]
    dbt += ["--log-path", str(target)]
    timed(dbt, env)  # its partial parse written for this target and environment
    imports, builds = [], []
    for _ in range(repeat):
        imports.append(float(timed([sys.executable, "-c", load], env)[2].split()[-1]))
        builds.append(timed(dbt, env)[0])
    shutil.rmtree(target, ignore_errors=True)
    return middle(imports), middle(builds)


def median_night(samples: list[tuple[float, float, str]]) -> tuple[float, float, str, list[float]]:
    """The sample whose night (its wall time less the report's run after it) is the median of ``samples``, with
    the peak RSS the median of theirs, and every sample's night in seconds (in the order they ran)."""
    nights = [night_seconds(s) for s in samples]
    median = sorted(range(len(samples)), key=lambda i: nights[i])[len(samples) // 2]
    return samples[median][0], middle([s[1] for s in samples]), samples[median][2], nights


class Size:
    """One size's landing zone, warehouse and instance, measured in phases so that the sizes' nights can take
    turns (``main``): the setup (generate, floor, ingestion, the cold run), then each round of the last nights,
    then the least night and the table's lines."""

    def __init__(self, size: str, base: Path, run_env: dict) -> None:
        self.size, self.base = size, base
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        self.sources, self.generated = landing_zone(size, base)
        self.files = sum(1 for p in self.sources.glob("*/*/*") if p.is_file() and p.parts[-3] in AGENCIES)
        py = sys.executable
        self.floor = timed([py, "benchmarks/floor.py", str(self.sources), str(base / "floor")])
        ingest = (
            "import sys; from pathlib import Path; from dagster_project.ingest.run import ingest_landing_zone; "
            "from dagster_project.lake import Lake; r = ingest_landing_zone(Path(sys.argv[1]), "
            "Lake(Path(sys.argv[2])), b'bench-key'); print(r.rows_read)"
        )
        self.ingestion = timed([py, "-c", ingest, str(self.sources), str(base / "ingest_only")])
        self.rows = int(self.ingestion[2].split()[-1])
        home = base / "home"
        home.mkdir()
        self.env = {"DAGSTER_HOME": str(home), "PFPW_PII_KEY": "bench-key", **run_env}
        self.run = pfpw_command(self.sources, base / "warehouse")
        self.last = withhold_last_month(self.sources, base / "withheld")
        self.cold = timed(self.run, self.env, base / "cold.txt")
        deliver(base / "withheld", self.sources)
        self.samples: dict[str, list] = {"increment": [], "nothing": [], "one": []}

    def round(self, k: int, repeat: int) -> None:
        """The k-th (from 0) month's, nothing-new and one-payment nights."""
        base, env, run = self.base, self.env, self.run
        suffix = f"-{k + 1}" if repeat > 1 else ""
        if k:  # the last month withheld again: a night that loses it on purpose (not timed)
            withhold_last_month(self.sources, base / "withheld")
            timed(run, {**env, "PFPW_MAX_ROW_DROP_SHARE": "0.5"}, base / f"withheld{suffix}.txt")
            deliver(base / "withheld", self.sources)
        self.samples["increment"].append(timed(run, env, base / f"increment{suffix}.txt"))
        self.samples["nothing"].append(timed(run, env, base / f"nothing-new{suffix}.txt"))
        add_one_payment(self.sources, self.last, k + 1)
        self.samples["one"].append(timed(run, env, base / f"one-payment-more{suffix}.txt"))

    def above_nothing(self) -> list[float]:
        """Each round's month's night above its nothing-new night (each less the report's run after it)."""
        pairs = zip(self.samples["increment"], self.samples["nothing"], strict=True)
        return [night_seconds(m) - night_seconds(n) for m, n in pairs]

    def lines(self, repeat: int) -> tuple[list[tuple], tuple[float, float]]:
        """The table's lines of this size, and its least night (``least_night``)."""
        increment, nothing, one = (median_night(self.samples[k]) for k in ("increment", "nothing", "one"))

        def label(night: tuple) -> str:
            if repeat == 1:
                return ""
            return f"; median of {repeat}: {', '.join(f'{s:.1f}' for s in night[3])} s"

        rows, last = self.rows, self.last
        floor_s, floor_rss, out = self.floor
        lines = [("generate", self.generated, 0, rows)] if self.generated else []
        lines += [
            ("floor", floor_s, floor_rss, int(out.split()[-2])),
            ("ingestion", *self.ingestion[:2], rows),
        ]
        # each night up to its publication (pfpw run's wall time less the report's own run after it), then that run
        for name, night, n in (
            (f"pfpw run cold (without {last})", self.cold, rows),
            (f"nightly increment ({last} delivered{label(increment)})", increment, rows),
            (f"nothing new{' (' + label(nothing)[2:] + ')' if repeat > 1 else ''}", nothing, rows),
            (f"one payment more ({last} finance{label(one)})", one, rows + repeat),
        ):
            report = report_seconds(night[2])
            lines.append((name, night[0] - report, night[1], n))
            if report:
                lines.append((f"report run after: {name.split(' (')[0]}", report, night[1], n))
        least = least_night(self.base, repeat)
        size, files = self.size, self.files
        return [(size, files, name, s, rss, n, n / s, s / floor_s) for name, s, rss, n in lines], least


def targets(
    steps: dict, rows: list[tuple], least: dict | None = None, rounds: dict | None = None
) -> list[str]:
    """The lines of issue 27's targets that this session's sizes measure (``least``: each size's least night,
    ``least_night``; ``rounds``: each size's month's nights above nothing new, round by round)."""
    rss = {size: {r[2].split(" (")[0]: r[4] for r in rows if r[0] == size} for size in steps}
    out = []

    def above(size: str, step: str) -> float:
        return steps[size][step] - steps[size]["nothing new"]

    if "10x4" in steps:
        fixed = above("10x4", "one payment more") / max(above("10x4", "pfpw run cold"), 1e-9)
        out.append(
            f"\nfixed cost: one payment more above nothing new at 10x4 is {100 * fixed:.0f}% of the cold run's "
            "(target ≤ 10%)."
        )
        if least and "10x4" in least:
            imports, build = least["10x4"]
            out.append(
                f"the least night at 10x4: the definitions' import {imports:.1f} s and a dbt build that selects nothing "
                f"{build:.1f} s, {imports + build:.1f} s before any model is built: "
                f"{100 * (imports + build) / max(above('10x4', 'pfpw run cold'), 1e-9):.0f}% of the cold run's."
            )
    if "10x4" in steps and "10x10" in steps:
        time_ratio = above("10x10", "nightly increment") / max(above("10x4", "nightly increment"), 1e-9)
        rss_ratio = rss["10x10"]["nightly increment"] / max(rss["10x4"]["nightly increment"], 1e-9)
        out.append(
            f"history: the last month's night above nothing new at 10x10 is {time_ratio:.2f}× the same at 10x4 "
            f"(target ≤ 1.15×); its peak RSS {rss_ratio:.2f}× (target ≤ 1.15×)."
        )
        if rounds and len(rounds.get("10x4", [])) > 1:
            pairs = [b / max(a, 1e-9) for a, b in zip(rounds["10x4"], rounds["10x10"], strict=True)]
            out.append(
                "history, round by round (the two sizes' month's nights side by side in time): "
                + ", ".join(f"{r:.2f}×" for r in pairs)
                + f"; their median {middle(pairs):.2f}×."
            )
    if "90x10" in steps:
        mine = steps["90x10"]
        out.append(
            f"province: 90x10 cold is {mine['pfpw run cold'] / mine['floor']:.1f}× the floor (target ≤ 3×), peak RSS "
            f"{rss['90x10']['pfpw run cold']:.0f} MB (target ≤ 4096); its last month's night above nothing new is "
            f"{100 * above('90x10', 'nightly increment') / max(above('90x10', 'pfpw run cold'), 1e-9):.0f}% of the "
            "cold run's (target ≤ 15%)."
        )
    return out


def machine() -> str:
    mem = next(
        (
            int(line.split()[1]) / 1024 / 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return f"{os.cpu_count()} cores, {mem:.1f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--size", action="append", help="sample or KxY (repeatable; default: sample and 10x4; 40x10 by hand)"
    )
    parser.add_argument("--executor", choices=["in_process", "multiprocess"], default="in_process")
    parser.add_argument("--workers", type=int)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="the month's, nothing-new and one-payment nights N times: their medians",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "scale"))
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to results.md")
    args = parser.parse_args()
    run_env = {"PFPW_EXECUTOR": args.executor}
    if args.workers:
        run_env["PFPW_WORKERS"] = str(args.workers)
    repeat = max(1, args.repeat)
    sizes = [Size(size, Path(args.out) / size, run_env) for size in args.size or ["sample", "10x4"]]
    # the sizes take turns, a round each: the machine's speed drifts over an hour here (10-25%), and a size whose
    # nights all ran in a slower quarter of the hour would seem to grow with its history
    for k in range(repeat):
        for size in sizes:
            size.round(k, repeat)
    rows, least = [], {}
    for size in sizes:
        mine, least[size.size] = size.lines(repeat)
        rows += mine
    rounds = {size.size: size.above_nothing() for size in sizes}
    executor = args.executor + (f", {args.workers} workers" if args.workers else "")
    text = [
        f"### Scale — {dt.date.today()}, {machine()}, executor {executor}",
        "",
        "| size | files | step | wall s | peak RSS MB | rows | rows/s | × floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    text += [
        f"| {size} | {files:,} | {name} | {s:.1f} | {rss:.0f} | {n:,} | {rps:,.0f} | {ratio:.1f} |"
        for size, files, name, s, rss, n, rps, ratio in rows
    ]
    # each size's wall seconds by step, the step's name without its parenthesis
    steps = {
        size: {r[2].split(" (")[0]: r[3] for r in rows if r[0] == size}
        for size in dict.fromkeys(r[0] for r in rows)
    }
    for size, mine in steps.items():
        base = mine["nothing new"]
        share = (mine["nightly increment"] - base) / max(mine["pfpw run cold"] - base, 1e-9)
        fixed = (mine["one payment more"] - base) / max(mine["pfpw run cold"] - base, 1e-9)
        text.append(
            f"\n{size}: ingestion {mine['ingestion'] / mine['floor']:.1f}× the floor (target ≤ 2×); the increment "
            f"above a nothing-new night is {100 * share:.0f}% of the cold run's (target ≤ 10%); one payment more "
            f"costs {mine['one payment more'] - base:.1f} s above it, {100 * fixed:.0f}% of the cold run's (the fixed "
            "cost of a night that has anything new)."
        )
    for size, mine in steps.items():
        text.append(
            f"\n{size}: pfpw run cold is {mine['pfpw run cold'] / mine['floor']:.1f}× the floor (target at 40x10: ≤ 3×)."
        )
        if size != "sample" and "sample" in steps:
            grew = mine["pfpw run cold"] - steps["sample"]["pfpw run cold"]
            floor_grew = mine["floor"] - steps["sample"]["floor"]
            text.append(
                f"{size}: the cold run grew {grew:.1f} s above the sample's, {grew / max(floor_grew, 1e-9):.1f}× "
                f"the floor's growth of {floor_grew:.1f} s (target ≤ 3×)."
            )
    for size, (imports, build) in least.items():
        text.append(
            f"{size}: the least night, before any model: the definitions' import {imports:.1f} s, a dbt build "
            f"that selects nothing {build:.1f} s."
        )
    text += targets(steps, rows, least, rounds)
    print("\n".join(text))
    if not args.no_record:
        with (ROOT / "benchmarks" / "results.md").open("a", encoding="utf-8") as f:
            f.write("\n".join(text) + "\n\n")


if __name__ == "__main__":
    main()
