"""The pool of reading workers of one process: started once per run, kept for all its units (a spawned
worker costs seconds to import polars and pandera); another run, key or reference starts a new one."""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Protocol

from dagster_project.ingest.batch import MonthReport
from dagster_project.lake import Lake
from dagster_project.reference import Reference, load_reference


class Worker(Protocol):
    def _ingest_chunk(self, chunk: list) -> MonthReport: ...


_WORKER: Worker | None = None
_REGISTERED = False  # the exit hook, registered with the first pool (never at import)
_POOL: tuple[tuple, object] | None = None  # (what its workers were started with, the pool)


def get(make: type, workers: int, sources: Path, lake: Lake, reference: Reference, key: bytes, run_id: str):
    """The process pool of this process, started once per run and kept for all its units (a spawned
    worker costs seconds to import polars and pandera); another run, key or reference starts a new one.
    ``make`` is the worker's class (the Ingestor), pickled by name: this module does not import it."""
    global _POOL, _REGISTERED
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ident = (workers, str(sources), str(lake.root), reference.fingerprint, key, run_id)
    if _POOL is not None and _POOL[0] == ident:
        return _POOL[1]
    shutdown_pool()
    if not _REGISTERED:
        atexit.register(shutdown_pool)
        _REGISTERED = True
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),  # polars does not survive a fork
        initializer=worker_init,
        # small arguments, so that starting a worker never waits for the one before (a worker
        # loads the reference itself and refuses another than the parent's)
        initargs=(make, sources, lake.root, reference.fingerprint, key, run_id),
    )
    _POOL = (ident, pool)
    return pool


def shutdown_pool() -> None:
    """Stop this process's reading workers (at exit, or when a run needs other ones)."""
    global _POOL
    if _POOL is not None:
        _POOL[1].shutdown(cancel_futures=True)
        _POOL = None


def worker_init(
    make: type, sources: Path, warehouse: Path, reference_fingerprint: str, key: bytes, run_id: str
) -> None:
    global _WORKER
    reference = load_reference(sources)
    if reference.fingerprint != reference_fingerprint:
        raise RuntimeError(f"{sources}/reference changed while the run was ingesting: run again")
    _WORKER = make(sources, Lake(warehouse), reference, key, run_id)


def worker_ingest(chunk: list) -> MonthReport:
    assert _WORKER is not None
    return _WORKER._ingest_chunk(chunk)
