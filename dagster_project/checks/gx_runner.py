"""Running suites on DataFrames with a file-backed GX context in the warehouse, and the offline Data Docs.

GX is called directly (not through dagster-ge, pinned below GX 1.0, nor through
SQLAlchemy on DuckDB): a pandas datasource, one DataFrame asset per suite, a
checkpoint whose action updates the Data Docs site in ``<warehouse>/docs/gx``. The
pages are then made to load their CSS/JS from vendored copies (``docs_assets``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dagster_project import settings  # noqa: E402,I001 (GX reads its analytics switch when imported)

settings.quiet_great_expectations()

import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier  # noqa: E402

ASSETS_DIR = Path(__file__).resolve().parent / "docs_assets"
SITE = "pfpw"
# Validation results (and their Data Docs pages) kept per suite: the newest, about a month of nights.
# GX keeps every result and rebuilds the site's index from all of them, so without a bound a
# night's audits and the warehouse would grow with the years; the Dagster instance keeps each
# check's history (with the failures described) for as long as the instance keeps its runs.
KEEP_VALIDATIONS = 31
# Validations the site's index lists, newest first (GX's ``validation_results_limit``): about four nights that
# audit every mart (27 suites). Building the index reads each listed result from the store: listing all that are
# kept (31 nights of every suite) cost about 1.5 s a night, more than the night's own pages. The older pages stay
# (KEEP_VALIDATIONS), and each night's check results stay in the Dagster instance.
INDEX_VALIDATIONS = 100
RUN_TIME = re.compile(r"^\d{8}T\d{6}\.\d+Z$")


@dataclass
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    failed: list[str]  # "expectation(column): n unexpected"


def _describe(result, hints: dict[str, str] | None = None) -> str:
    cfg = result.expectation_config
    kwargs = cfg.kwargs
    target = kwargs.get("column") or ",".join(kwargs.get("column_list", []) or []) or "table"
    detail = result.result or {}
    extra = ""
    if "unexpected_count" in detail:
        extra = f": {detail['unexpected_count']} unexpected"
        sample = detail.get("partial_unexpected_list") or []
        if sample:
            extra += f" (e.g. {sample[:3]})"
    elif "observed_value" in detail:
        extra = f": observed {detail['observed_value']}"
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is not None and high is not None:
            extra += f", expected between {low} and {high}"
        elif low is not None or high is not None:
            extra += f", expected {'≥' if low is not None else '≤'} {low if low is not None else high}"
    hint = (hints or {}).get(cfg.type)
    if hint:
        extra += f" ({hint})"
    return f"{cfg.type}({target}){extra}"


def _definition(suite: gx.ExpectationSuite) -> str:
    """What the suite asks, without the ids GX gives it when it is saved; with GX's version and the
    checkpoint's settings (a checkpoint saved by another version, or otherwise, is saved again)."""

    def strip(value):  # noqa: ANN001,ANN202
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "id"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(
        {
            "gx": gx.__version__,
            "checkpoint": "whole/SUMMARY/no actions",
            "suite": strip(suite.to_json_dict()),
        },
        sort_keys=True,
        default=str,
    )


_RUNNERS: dict[tuple[Path, int], GxRunner] = {}


def _config_id(warehouse: Path) -> int:
    try:
        return (warehouse / "gx" / "great_expectations.yml").stat().st_ino
    except OSError:
        return 0


class GxRunner:
    @classmethod
    def for_warehouse(cls, warehouse: Path) -> GxRunner:
        """One context per warehouse and process: opening the file context costs about half a second."""
        key = (warehouse.resolve(), _config_id(warehouse))
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = cls(warehouse)
            _RUNNERS[(warehouse.resolve(), _config_id(warehouse))] = runner
        return runner

    def __init__(self, warehouse: Path):
        self.root = warehouse / "gx"
        self.docs = warehouse / "docs" / "gx"
        self.context = gx.get_context(mode="file", project_root_dir=str(warehouse))
        self.context.variables.progress_bars = {"globally": False}
        site_config = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.docs)},
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "validation_results_limit": INDEX_VALIDATIONS,
            },
        }
        sites = self.context.get_config().data_docs_sites or {}
        if SITE not in sites:
            self.context.add_data_docs_site(site_name=SITE, site_config=site_config)
        elif {k: sites[SITE].get(k) for k in site_config} != site_config:
            # a warehouse folder that was moved or copied (its docs go where it now is), or an older site's config
            self.context.update_data_docs_site(site_name=SITE, site_config=site_config)
        try:  # kept from night to night with its assets (add_or_update would replace it, and they be added again)
            self.source = self.context.data_sources.get("marts")
        except LookupError:
            self.source = self.context.data_sources.add_pandas(name="marts")
        self._pending: list = []  # validation results and suites whose pages are not built yet
        self._docs_since = 0

    def run(
        self,
        suite: gx.ExpectationSuite,
        df: pd.DataFrame,
        parameters: dict | None = None,
        hints: dict[str, str] | None = None,
    ) -> SuiteOutcome:
        """Validate ``df`` against ``suite``. ``parameters``: the values of the suite's ``$PARAMETER``s
        for this validation; ``hints``: by expectation type, what a failure's description adds."""
        name = suite.name
        checkpoint = self._checkpoint(suite)
        if not self._pending:
            self._docs_since = time.time_ns()
        try:
            result = checkpoint.run(
                batch_parameters={"dataframe": df}, expectation_parameters=parameters or None
            )
        finally:
            self.release_batches()
        self._pending += [*result.run_results.keys(), ExpectationSuiteIdentifier(name=name)]
        results = [r for vr in result.run_results.values() for r in vr.results]
        failed = [_describe(r, hints) for r in results if not r.success]
        return SuiteOutcome(name, bool(result.success), len(results), failed)

    def _checkpoint(self, suite: gx.ExpectationSuite) -> gx.Checkpoint:
        """The suite's checkpoint, as the context stores it.

        The suite, its validation definition and its checkpoint are saved again only when the suite's
        definition (``_definition``) differs from the one last saved, or a stored file is not as it was
        written: saving the three costs about 0.1 s a suite, some 3 s of a night that audits every mart,
        for suites that change only with the code. A stamp beside the stores (``uncommitted/pfpw_saved``)
        holds the definition and the digests of the three files as saved.
        """
        name = suite.name
        definition = _definition(suite)
        stamp = self.root / "uncommitted" / "pfpw_saved" / f"{name}.json"
        try:
            saved = json.loads(stamp.read_text(encoding="utf-8"))
            if saved == {"definition": definition, "files": self._stored_digests(name)}:
                return self.context.checkpoints.get(name)
        except (OSError, ValueError, gx.exceptions.GreatExpectationsError):
            pass  # saved again below
        try:
            asset = self.source.get_asset(name)
        except LookupError:
            asset = self.source.add_dataframe_asset(name=name)
        try:
            batch = asset.get_batch_definition("whole")
        except (KeyError, LookupError, ValueError):
            batch = asset.add_batch_definition_whole_dataframe(name="whole")
        suite = self.context.suites.add_or_update(suite)
        vd = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        checkpoint = self.context.checkpoints.add_or_update(
            gx.Checkpoint(name=name, validation_definitions=[vd], result_format="SUMMARY", actions=[])
        )
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"definition": definition, "files": self._stored_digests(name)}), encoding="utf-8"
        )
        os.replace(tmp, stamp)
        return checkpoint

    def _stored_digests(self, name: str) -> list[str | None]:
        """The digests of the suite's, validation definition's and checkpoint's files (None: missing)."""
        files = (
            self.root / "expectations" / f"{name.replace('.', '/')}.json",
            self.root / "validation_definitions" / f"{name}.json",
            self.root / "checkpoints" / f"{name}.json",
        )
        out: list[str | None] = []
        for file in files:
            try:
                out.append(hashlib.sha256(file.read_bytes()).hexdigest())
            except OSError:
                out.append(None)
        return out

    def release_batches(self) -> None:
        """Let go of the DataFrames validated so far. GX's execution engine, kept by the datasource of this
        runner (one per warehouse and process), caches every batch it loads with its data: without this,
        each mart audited stayed in memory until the process ended, carried by the publication (a night's peak)
        and the report's run after it, and growing with the history (tests/test_night_memory.py)."""
        manager = self.source.get_execution_engine().batch_manager
        manager.reset_batch_cache()
        manager.batch_data_cache.clear()

    def build_docs(self) -> None:
        """The Data Docs pages of the validations run since the last call, the index, then offline assets."""
        if not self._pending:
            return
        self.prune(KEEP_VALIDATIONS)
        self.context.build_data_docs(site_names=[SITE], resource_identifiers=self._pending, build_index=True)
        make_offline(self.docs, since_ns=self._docs_since)  # only the pages just written
        self._pending = []

    def prune(self, keep: int) -> int:
        """Remove all but the newest ``keep`` validation results of each suite, with their Data Docs
        pages; returns how many were removed. The store lays a result out as
        ``validations/<suite path>/<run name>/<run time>/<batch>.json``, its page likewise."""
        store = self.root / "uncommitted" / "validations"
        removed = 0
        if not store.is_dir():
            return 0
        for run_name in {p.parent for p in store.rglob("*") if p.is_dir() and RUN_TIME.match(p.name)}:
            times = sorted(
                (p for p in run_name.iterdir() if p.is_dir() and RUN_TIME.match(p.name)), reverse=True
            )
            for old in times[keep:]:
                shutil.rmtree(old, ignore_errors=True)
                shutil.rmtree(self.docs / "validations" / old.relative_to(store), ignore_errors=True)
                removed += 1
        return removed


# ------------------------------------------------------------------ offline Data Docs

# CDN address -> vendored file (npm packages of the same versions, licences beside them)
CDN = {
    r"https://maxcdn\.bootstrapcdn\.com/bootstrap/4\.3\.1/css/bootstrap\.min\.css": "bootstrap/css/bootstrap.min.css",
    r"https://stackpath\.bootstrapcdn\.com/bootstrap/4\.3\.1/js/bootstrap\.min\.js": "bootstrap/js/bootstrap.min.js",
    r"https://code\.jquery\.com/jquery-3\.7\.1\.min\.js": "jquery/jquery.min.js",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/popper\.js/1\.12\.9/umd/popper\.min\.js": "popper.js/popper.min.js",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/font-awesome/6\.6\.0/css/all\.min\.css": "fontawesome/css/all.min.css",
    r"https://unpkg\.com/bootstrap-table@1\.19\.1/dist/bootstrap-table\.min\.css": "bootstrap-table/bootstrap-table.min.css",
    r"https://unpkg\.com/bootstrap-table@1\.19\.1/dist/bootstrap-table\.min\.js": "bootstrap-table/bootstrap-table.min.js",
    r"https://unpkg\.com/bootstrap-table@1\.19\.[01]/dist/extensions/filter-control/bootstrap-table-filter-control\.min\.css": "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    r"https://unpkg\.com/bootstrap-table@1\.19\.0/dist/extensions/filter-control/bootstrap-table-filter-control\.css": "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    r"https://unpkg\.com/bootstrap-table@1\.19\.1/dist/extensions/filter-control/bootstrap-table-filter-control\.min\.js": "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/css/bootstrap-datepicker\.min\.css": "bootstrap-datepicker/css/bootstrap-datepicker.min.css",
    r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/js/bootstrap-datepicker\.min\.js": "bootstrap-datepicker/js/bootstrap-datepicker.min.js",
    r"https://cdn\.jsdelivr\.net/npm/@forevolve/bootstrap-dark@1\.1\.0/dist/css/bootstrap-prefers-dark\.css": "bootstrap-dark/bootstrap-prefers-dark.css",
    r"https://cdn\.jsdelivr\.net/npm/vega@5(?=[\"'])": "vega/vega.min.js",
    r"https://cdn\.jsdelivr\.net/npm/vega-lite@5(?=[\"'])": "vega-lite/vega-lite.min.js",
    r"https://cdn\.jsdelivr\.net/npm/vega-embed@6(?=[\"'])": "vega-embed/vega-embed.min.js",
    # the logo GX ships is already in the site's static/images
    r"https://great-expectations-web-assets\.s3[^\"']*/logo-long\.png[^\"']*": "../images/logo-long.png",
}
# what a browser would fetch: scripts, images, frames (src=) and stylesheets (<link href=>); plain links are not fetched
REMOTE_ASSET_SRC = re.compile(
    r"""(?:\bsrc\s*=\s*["'](https?://[^"']+)["'])|(?:<link\b[^>]*\bhref\s*=\s*["'](https?://[^"']+)["'])"""
)


def make_offline(site: Path, since_ns: int = 0) -> list[str]:
    """Copy the vendored assets into the site and point its pages (those written since ``since_ns``) at them.

    Returns what stayed remote in the pages looked at. Only new pages are rewritten after a
    validation, so a night's cost does not grow with the years of results the site holds.
    """
    if not site.exists():
        return []
    target = site / "static" / "vendor"
    if ASSETS_DIR.exists() and not (target / ".complete").exists():
        shutil.copytree(ASSETS_DIR / "vendor", target, dirs_exist_ok=True)
        (target / ".complete").touch()
    remaining: list[str] = []
    for page in site.rglob("*.html"):
        if since_ns and page.stat().st_mtime_ns < since_ns:
            continue
        html = page.read_text(encoding="utf-8")
        prefix = os.path.relpath(target, page.parent).replace(os.sep, "/")
        new = html
        for pattern, local in CDN.items():
            new = re.sub(pattern, f"{prefix}/{local}", new)
        # integrity hashes and crossorigin attributes only apply to the remote copies
        new = re.sub(r'\s+integrity="[^"]*"', "", new)
        new = re.sub(r'\s+crossorigin="[^"]*"', "", new)
        if new != html:
            page.write_text(new, encoding="utf-8")
        remaining += [a or b for a, b in REMOTE_ASSET_SRC.findall(new)]
    return sorted(set(remaining))
