"""Dagster resources: where the landing zone and the warehouse are, and the pseudonymisation key."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from dagster_project import settings
from dagster_project.locks import writer_lock

if TYPE_CHECKING:  # the lake imports polars and the contract's schemas: only when used
    from dagster_project.lake import Lake


class PfpwPaths(dg.ConfigurableResource):
    """Paths resolve at run time from PFPW_SOURCES_DIR / PFPW_WAREHOUSE_DIR unless configured."""

    sources_dir: str | None = None
    warehouse_dir: str | None = None

    @property
    def sources(self) -> Path:
        return Path(self.sources_dir).resolve() if self.sources_dir else settings.sources_dir()

    @property
    def warehouse(self) -> Path:
        return Path(self.warehouse_dir).resolve() if self.warehouse_dir else settings.warehouse_dir()

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
