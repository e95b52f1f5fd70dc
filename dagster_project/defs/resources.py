"""Dagster resources: where the landing zone and the warehouse are, and the settings a run's steps read."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from dagster_project.locks import writer_lock
from dagster_project.settings import Settings

if TYPE_CHECKING:  # the lake imports polars and the contract's schemas: only when used
    from dagster_project.lake import Lake


class PfpwPaths(dg.ConfigurableResource):
    """Where a run reads and writes, and the settings its steps read (``settings``).

    What the run's config sets wins (`pfpw run` launches its run with the landing zone, the warehouse
    and the workers it was given: ``pipeline.paths_run_config``); the rest, and everything for a run
    without that config (the UI's launchpad, the schedule, the sensor), comes from the environment at
    run time (``Settings.from_env``: PFPW_SOURCES_DIR, PFPW_WAREHOUSE_DIR, PFPW_WORKERS, PFPW_PII_KEY, ...).
    """

    sources_dir: str | None = None
    warehouse_dir: str | None = None
    workers: int | None = None

    @property
    def settings(self) -> Settings:
        """The environment's settings with what the run's config sets in their place."""
        given = Settings.from_env()
        return dataclasses.replace(
            given,
            sources_dir=Path(self.sources_dir).resolve() if self.sources_dir else given.sources_dir,
            warehouse_dir=Path(self.warehouse_dir).resolve() if self.warehouse_dir else given.warehouse_dir,
            workers=self.workers or given.workers,
        )

    @property
    def sources(self) -> Path:
        return self.settings.sources_dir

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse_dir

    @property
    def lake(self) -> Lake:
        from dagster_project.lake import Lake

        return Lake(self.warehouse)

    def prepared_lake(self) -> Lake:
        """For writers: the fixed empty files in place and a killed run's temporaries cleared (once per asset)."""
        lake = self.lake
        lake.ensure_layout()
        return lake

    def writer_lock(self):
        """Held while writing the warehouse (see locks.py)."""
        return writer_lock(self.warehouse)

    @property
    def working_db(self) -> Path:
        return self.warehouse / "warehouse.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.warehouse / "serving.duckdb"
