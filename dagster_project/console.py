"""What `pfpw run` prints while a run goes: one line per stage with its elapsed time.

Dagster's event log stays in the instance (the UI shows it; ``pfpw run -v`` prints it too).
This reads the same events from the instance while the run executes, in a thread, and turns
each stage into one line: the landing-zone state, inventory and reference, ingestion per
agency (files and rows), the ledger checks, dbt (models and tests), the audits and the
publication. When the terminal is interactive, a bar shows ingestion's progress over files.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

from dagster_project import progress
from dagster_project.dagster_private import step_node_name

E = dg.DagsterEventType
# the stages in the order a night runs them, as a definition's STAGE_TAG names them (first word)
ORDER = ("state", "inventory", "reference", "ingest", "ledger", "dbt", "audits", "publish", "report")
STAGE_TAG = "pfpw/stage"  # on each asset's or check's op (a graph-backed asset: on its assets)
# the dbt assets' op says "transform" (defs/dbt/assets.py); its line has always been called dbt
LABELS = {"transform": "dbt"}


def stages_by_node(definitions: dg.Definitions | Iterable[dg.AssetsDefinition]) -> dict[str, str]:
    """The stage of each asset and check definition, by the name of the job node that runs it.

    The stage is what the definition declares (``STAGE_TAG``): its op's tag, or, for a graph-backed
    asset (an agency's ingestion: plan, files, commit), its assets' tag. A step belongs to the
    definition whose node it runs (``dagster_private.step_node_name``).
    """
    if isinstance(definitions, dg.Definitions):
        definitions = [*(definitions.assets or []), *(definitions.asset_checks or [])]
    out: dict[str, str] = {}
    for d in definitions:
        if not isinstance(d, dg.AssetsDefinition):  # an AssetSpec or source asset: nothing runs
            continue
        stage = d.node_def.tags.get(STAGE_TAG)
        if stage is None:
            stage = next((t for k in sorted(d.keys) if (t := d.get_asset_spec(k).tags.get(STAGE_TAG))), None)
        if stage is not None:  # "ingest.township" (an asset tag holds no space): the line "ingest township"
            stage = stage.replace(".", " ")
            out[d.node_def.name] = LABELS.get(stage, stage)
    return out


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    steps: int = 0
    failed: list[str] = field(default_factory=list)
    materializations: list[tuple[str, dict]] = field(default_factory=list)  # (asset, metadata)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (name, passed, severity)
    printed: bool = False

    def line(self) -> str:
        return f"  {self.name:<16} {self.seconds:6.1f}s  {self.describe()}"

    def _meta(self, key: str) -> list:
        return [m[key] for _, m in self.materializations if key in m]

    def describe(self) -> str:
        if self.failed:
            return "FAILED: " + "; ".join(self.failed)
        kind = self.name.split()[0]
        if kind == "state":
            files, changed = self._meta("landing_files"), self._meta("changed")
            what = ", ".join(changed[0]) if changed and changed[0] else "nothing"
            return f"{files[0] if files else 0:,} landing files; changed since the last publication: {what}"
        if kind == "inventory":
            months, ignored = self._meta("month_folders"), self._meta("ignored_files")
            return f"{months[0] if months else 0} agency month folders, {ignored[0] if ignored else 0} unknown files"
        if kind == "reference":
            rows = self._meta("dagster/row_count")
            return f"{len(rows)} reference tables, {sum(rows):,} rows"
        if kind == "ingest":
            m = self.materializations[0][1] if self.materializations else {}
            rows = {k: sum(self._meta(k)) for k in ("rows_read", "rows_loaded", "rows_quarantined")}
            extra = []
            if m.get("files_withdrawn"):
                extra.append(f"{m['files_withdrawn']} withdrawn")
            if m.get("files_rekeyed"):
                extra.append(f"{m['files_rekeyed']} re-keyed")
            return (
                f"{m.get('files_seen', 0)} files ({m.get('files_ingested', 0)} read, "
                f"{m.get('files_unchanged', 0)} unchanged{''.join(', ' + e for e in extra)}); "
                f"{rows['rows_read']:,} rows read: {rows['rows_loaded']:,} loaded, "
                f"{rows['rows_quarantined']:,} quarantined"
            )
        if kind == "ledger":
            balances = [c for c in self.checks if c[0].endswith("ledger_balances")]
            late = [
                c[0].removesuffix("_deliveries")
                for c in self.checks
                if c[0].endswith("_deliveries") and not c[1]
            ]
            passed = sum(ok for _, ok, _ in balances)
            ledger = dict(self.materializations[0][1]) if self.materializations else {}
            return (
                f"{passed}/{len(balances)} balance checks passed; all files: "
                f"{ledger.get('rows_read', 0):,} rows read = {ledger.get('rows_loaded', 0):,} loaded + "
                f"{ledger.get('rows_quarantined', 0):,} quarantined"
                + (f"; overdue deliveries: {', '.join(late)}" if late else "")
            )
        if kind == "dbt":
            models = sum(1 for a, _ in self.materializations)
            passed = sum(ok for _, ok, _ in self.checks)
            return f"{models} models built, {passed} tests passed, {len(self.checks) - passed} failed"
        if kind == "audits":
            blocking = [c for c in self.checks if c[2] != "WARN"]
            warn = [c for c in self.checks if c[2] == "WARN" and not c[1]]
            passed = sum(ok for _, ok, _ in blocking)
            return f"{passed} GX suites passed, {len(blocking) - passed} failed" + (
                f", {len(warn)} plausibility warning(s)" if warn else ""
            )
        if kind == "publish":
            return (
                "serving.duckdb and data_team.duckdb replaced" if self.materializations else "not published"
            )
        if kind == "report":
            m = dict(self.materializations[0][1]) if self.materializations else {}
            pdf = str(m.get("pdf", ""))
            # the report's note without its advice (the run's log has it whole): no Chromium, a page too large, …
            pdf = "a PDF beside it" if pdf.endswith(".pdf") else (pdf.split(" (")[0][:160] or "no PDF")
            return f"report/index.html for {m.get('report_year', '?')}, {pdf}" if m else "no report"
        return f"{self.steps} step(s)"


def root_cause(error) -> str:
    """The innermost exception of a Dagster error (not the 'Error occurred while executing op' wrapper)."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    message = (error.message or "").strip()
    return message if message.startswith(error.cls_name or "\0") else f"{error.cls_name}: {message}"


class StageReporter:
    """Polls the instance's event log of one run and prints a line per finished stage.

    The run is ``run_id``, or the run carrying ``tags`` (a run Dagster's ``execute_job`` creates, whose
    id is not known before); each step's stage is that of the definition it runs (``stages``, from
    :func:`stages_by_node`).
    """

    def __init__(
        self,
        instance: dg.DagsterInstance,
        run_id: str | None = None,
        out: TextIO | None = None,
        bar: bool = False,
        *,
        tags: Mapping[str, str] | None = None,
        stages: Mapping[str, str] | None = None,
    ):
        if run_id is None and not tags:
            raise ValueError("a run id, or the tags that find the run")
        self.instance, self.run_id, self.tags = instance, run_id, dict(tags or {})
        self.stages_by_node = dict(stages or {})
        self.out = out or sys.stdout
        self.bar = bar
        self.stages: dict[str, Stage] = {}
        self.current: str | None = None
        self.errors: list[tuple[str, str]] = []  # (step, root cause)
        # step key -> the timestamp of its STEP_START (a failure event carries no duration)
        self._started: dict[str, float] = {}
        self._materialized: set[str] = set()  # the steps that materialized assets
        self._cursor: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._bar_shown = False
        self._thread = threading.Thread(target=self._loop, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> StageReporter:
        if self.bar:
            progress.set_listener(self._draw_bar)
        if not self.instance.is_ephemeral:  # an in-memory instance is read at the end, in this thread
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        progress.set_listener(None)
        self._poll()
        self._flush(until=None)

    def _loop(self) -> None:
        while not self._stop.wait(0.3):
            self._poll()

    # ------------------------------------------------------------------ events
    def _poll(self) -> None:
        with self._lock:
            if self.run_id is None:
                runs = self.instance.get_runs(filters=dg.RunsFilter(tags=self.tags), limit=1)
                if not runs:
                    return  # not created yet
                self.run_id = runs[0].run_id
            while True:
                conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, limit=500)
                for record in conn.records:
                    self._handle(record.event_log_entry)
                self._cursor = conn.cursor
                if not conn.has_more:
                    break

    def stage_name(self, event: dg.DagsterEvent) -> str:
        """The stage of a step's event: its definition's (an agency's ingestion: ``ingest <agency>``)."""
        return self.stages_by_node.get(step_node_name(event) or "", "other")

    def _handle(self, entry) -> None:
        event = entry.dagster_event
        if event is None or not event.step_key:
            return
        name = self.stage_name(event)
        stage = self.stages.setdefault(name, Stage(name))
        if event.event_type == E.STEP_START:
            self._started[event.step_key] = entry.timestamp
            if name != self.current:
                self._flush(until=name)
                self.current = name
        elif event.event_type == E.STEP_SUCCESS:
            stage.steps += 1
            # the time in its steps (parallel ingestion units add up: more than the wall clock)
            stage.seconds += (event.event_specific_data.duration_ms or 0) / 1000
            if name not in ("ledger", "audits") and not (
                name.startswith("ingest ") and event.step_key not in self._materialized
            ):  # multi-step stages print when the next stage starts (ingestion: when the step that
                # materializes its assets ends, after planning and its work units)
                self._print_stage(stage)
        elif event.event_type == E.STEP_FAILURE:
            cause = root_cause(event.event_specific_data.error)
            stage.steps += 1
            stage.seconds += max(0.0, entry.timestamp - self._started.get(event.step_key, entry.timestamp))
            stage.failed.append(cause.splitlines()[0][:300])
            self.errors.append((event.step_key, cause))
            self._print_stage(stage)
        elif event.event_type == E.ASSET_MATERIALIZATION:
            self._materialized.add(event.step_key)
            mat = event.event_specific_data.materialization
            meta = {k: getattr(v, "value", v) for k, v in (mat.metadata or {}).items()}
            stage.materializations.append((mat.asset_key.to_user_string(), meta))
        elif event.event_type == E.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            severity = ev.severity.value if ev.severity else "ERROR"
            stage.checks.append(
                (f"{ev.asset_key.to_user_string()}:{ev.check_name}", bool(ev.passed), severity)
            )

    # ------------------------------------------------------------------ printing
    def _flush(self, until: str | None) -> None:
        """Print the multi-step stages that are over (a later stage has begun, or the run ended)."""
        rank = ORDER.index(until.split()[0]) if until and until.split()[0] in ORDER else len(ORDER)
        for stage in self.stages.values():
            kind = stage.name.split()[0]
            if until is not None and kind == "ingest":
                continue  # an agency's line waits for its materializing step (a check may run between its steps)
            if stage.steps and not stage.printed and kind in ORDER and ORDER.index(kind) < rank:
                self._print_stage(stage)

    def _print_stage(self, stage: Stage) -> None:
        if stage.printed and not stage.failed:
            return
        self._clear_bar()
        print(stage.line(), file=self.out, flush=True)
        stage.printed = True

    def _draw_bar(self, label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\r  {label:<16} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        sys.stderr.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._bar_shown = False
