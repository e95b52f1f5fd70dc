"""``pfpw``: a thin command line over the same Definitions the Dagster UI loads."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from pathlib import Path

from dagster_project import settings


def _dagster_home(home: Path) -> Path:
    """The instance's folder (DAGSTER_HOME, default ./.dagster), with deploy/dagster.yaml if it has none."""
    home.mkdir(parents=True, exist_ok=True)
    template = settings.PROJECT_DIR / "deploy" / "dagster.yaml"
    if template.exists() and not (home / "dagster.yaml").exists():
        shutil.copy(template, home / "dagster.yaml")
    return home


def _settings() -> settings.Settings | None:
    """The environment's settings; None, said on stderr, when a value is not one of a setting's (exit 2)."""
    try:
        return settings.Settings.from_env()
    except ValueError as exc:
        print(f"pfpw: {exc}", file=sys.stderr)
        return None


def cmd_generate(args: argparse.Namespace) -> int:
    from dagster_project.synth.writer import generate

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        print(f"{out} is not empty (use --force to write into it)", file=sys.stderr)
        return 2
    try:
        done = generate(
            out,
            seed=args.seed,
            districts=args.districts,
            years=args.years,
            start_year=args.start_year,
            workers=args.workers,
            vary=True if args.vary else None,
        )
    except ValueError as exc:
        print(f"pfpw: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote a landing zone of {len(done)} district(s), {done.months[0]}..{done.months[-1]}, to {out} "
        f"(seed {args.seed}): {done.files:,} files, {done.rows:,} rows in {done.seconds:.1f} s "
        f"({done.rows / max(done.seconds, 1e-9):,.0f} rows/s)"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import logging

    given = _settings()
    if given is None:
        return 2
    sources = Path(args.sources or given.sources_dir).resolve()
    warehouse = Path(args.warehouse or given.warehouse_dir).resolve()
    try:
        given.key()
    except settings.MissingPiiKey as exc:
        print(f"pfpw: {exc}", file=sys.stderr)
        return 2
    if not sources.is_dir():
        print(f"pfpw: no landing zone at {sources}", file=sys.stderr)
        return 2
    from dagster_project import engines

    try:
        if given.engine == "spark":
            engines.require_spark()
    except engines.EngineUnavailable as exc:
        print(f"pfpw: {exc}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"pfpw: --workers {args.workers}: a whole number of processes, at least 1", file=sys.stderr)
        return 2
    # handed to the run explicitly (pipeline.run_pipeline: the run's config), never through the environment
    executor, workers = args.executor or given.executor, args.workers or given.workers
    # the pipeline's own log lines go to the Dagster event log; the terminal gets one line per stage
    logging.getLogger("dagster_project").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    home = _dagster_home(given.dagster_home)
    engine = "" if given.engine == "duckdb" else f" (dbt on {given.engine})"
    if executor == "multiprocess":
        engine += f" (multiprocess executor, {workers} at once)"
    print(f"pfpw run: {sources} -> {warehouse}{engine}", flush=True)
    import dagster as dg

    from dagster_project.pipeline import report_due, run_pipeline, run_report

    # the instance in DAGSTER_HOME (or pfpw's default), opened by its folder: DagsterInstance.get() would
    # read DAGSTER_HOME from this process's environment, which pfpw never writes. Disposed on the way
    # out: the event log's open SQLite connections close, and their WAL journals with them.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        outcome = run_pipeline(
            sources,
            warehouse,
            instance,
            verbose=args.verbose,
            bar=sys.stderr.isatty() and not args.verbose,
            executor=executor,
            workers=workers,
            report=False,
        )
        print(outcome.summary(), flush=True)
        # the night ended with its publication; the report is its own run after it
        if outcome.success and report_due(warehouse):
            outcome.report = run_report(
                sources, warehouse, instance, after=outcome.run_id, verbose=args.verbose
            )
            print(outcome.report.summary())
    return 0 if outcome.all_succeeded else 1


def cmd_docs(args: argparse.Namespace) -> int:
    """Serve <warehouse>/docs (GX Data Docs and dbt docs) on localhost, or just print where they are."""
    import functools
    import http.server

    given = _settings()
    if given is None:
        return 2
    warehouse = Path(args.warehouse or given.warehouse_dir).resolve()
    docs = warehouse / "docs"
    if not (docs / "index.html").exists():
        print(f"pfpw: no docs in {docs} yet: run `pfpw run` first", file=sys.stderr)
        return 2
    if args.no_serve:
        print(docs / "index.html")
        return 0
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(docs))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        print(
            f"Data Docs: http://127.0.0.1:{args.port}/gx/index.html   dbt docs: http://127.0.0.1:{args.port}/dbt/index.html"
        )
        print("(Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The founding survey as <warehouse>/report/index.html (and report.pdf with Chromium), from serving.duckdb."""
    from dagster_project.report import NoServingDatabase, YearNotCovered, build_report

    given = _settings()
    if given is None:
        return 2
    warehouse = Path(args.warehouse or given.warehouse_dir).resolve()
    try:
        report = build_report(warehouse, year=args.year)
    except (NoServingDatabase, YearNotCovered) as exc:
        print(f"pfpw: {exc}", file=sys.stderr)
        return 2
    districts = ", ".join(report.districts) or "none"
    print(
        f"pfpw report: {report.year} against {report.year - 1}, district(s) {districts}, publication {report.run_id}"
    )
    for path in report.paths:
        print(path)
    for note in report.notes:
        print(f"  {note}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pfpw", description="Population and family-planning data warehouse")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="ingest the landing zone, build, audit and publish the marts")
    run.add_argument("--sources", help="landing zone (default: $PFPW_SOURCES_DIR or ./sources)")
    run.add_argument("--warehouse", help="warehouse folder (default: $PFPW_WAREHOUSE_DIR or ./warehouse)")
    run.add_argument("-v", "--verbose", action="store_true", help="print Dagster's whole event log as well")
    run.add_argument(
        "--executor",
        choices=["in_process", "multiprocess"],
        help="Dagster executor (default: $PFPW_EXECUTOR or in_process); multiprocess ingests work units in parallel",
    )
    run.add_argument(
        "--workers",
        type=int,
        help="multiprocess: steps at once (default: $PFPW_WORKERS or the number of cores)",
    )
    run.set_defaults(func=cmd_run)
    gen = sub.add_parser("generate", help="write a deterministic synthetic landing zone")
    gen.add_argument("--out", required=True)
    gen.add_argument("--seed", type=int, default=2012)
    gen.add_argument("--districts", type=int, default=1, help="how many districts (default 1: the sample's)")
    gen.add_argument("--years", type=int, help="how many calendar years (default: the sample's two)")
    gen.add_argument("--start-year", type=int, help="the first year (default: the sample's first, 2011)")
    gen.add_argument(
        "--vary",
        action="store_true",
        help="districts of their own layout and rates even in the sample's years "
        "(other years always vary; the sample's years alone give districts that reproduce the founding report)",
    )
    gen.add_argument("--workers", type=int, help="processes writing districts (default: the cores)")
    gen.add_argument("--force", action="store_true")
    gen.set_defaults(func=cmd_generate)
    docs = sub.add_parser("docs", help="serve the Data Docs and dbt docs of a warehouse on localhost")
    docs.add_argument("--warehouse", help="warehouse folder (default: $PFPW_WAREHOUSE_DIR or ./warehouse)")
    docs.add_argument("--port", type=int, default=8080)
    docs.add_argument("--no-serve", action="store_true", help="only print the path of the docs' index page")
    docs.set_defaults(func=cmd_docs)
    report = sub.add_parser(
        "report", help="write the survey report (HTML, and PDF with Chromium) from serving.duckdb"
    )
    report.add_argument("--warehouse", help="warehouse folder (default: $PFPW_WAREHOUSE_DIR or ./warehouse)")
    report.add_argument(
        "--year", type=int, help="report year, compared with the year before (default: the latest covered)"
    )
    report.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
