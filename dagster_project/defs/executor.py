"""The executor every run of the nightly job uses: Dagster's own, in-process unless a run's config asks for
multiprocess; and how a run's config says which (for the assets that size their work by it, the schedule, the
sensor and `pfpw run`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster_project.settings import Settings

PRELOAD = ["dagster_project.definitions"]


@dg.configured(
    dg.multi_or_in_process_executor,
    config_schema={
        "mode": dg.Field(
            str,
            default_value="in_process",
            description="in_process (one step after another) or multiprocess (steps side by side)",
        ),
        "max_concurrent": dg.Field(
            int, default_value=0, description="multiprocess: steps at once (0: the cores)"
        ),
        "fork_server": dg.Field(
            bool,
            default_value=True,
            description="multiprocess: fork steps from a server that imported the pipeline once",
        ),
    },
)
def pfpw_executor(config: dict) -> dict:
    """Dagster's own executor, in-process unless a run's config says ``mode: multiprocess``.

    `pfpw run` with PFPW_EXECUTOR=multiprocess, or the UI's launchpad, choose multiprocess:
    ingestion's work units (one per agency and district) then run in parallel processes.
    """
    if config["mode"] == "multiprocess":
        multi: dict = {"max_concurrent": config["max_concurrent"]}
        if config["fork_server"]:
            multi["start_method"] = {"forkserver": {"preload_modules": PRELOAD}}
        return {"multiprocess": multi}
    if config["mode"] != "in_process":
        raise ValueError(f"executor mode {config['mode']!r}: in_process or multiprocess")
    return {"in_process": {}}


def multiprocess_config(workers: int) -> dict:
    """Run config: the multiprocess executor, ``workers`` steps at once, each forked from a server
    that imported the pipeline once (a step starts in about a second instead of three)."""
    return {"execution": {"config": {"mode": "multiprocess", "max_concurrent": workers}}}


def executor_mode(run_config: dict) -> str:
    """The executor mode a run's config chose (``pfpw_executor``: in_process unless it says otherwise)."""
    return (run_config.get("execution", {}).get("config", {}) or {}).get("mode", "in_process")


def executor_run_config(settings: Settings) -> dict:
    """The run config of the executor the settings ask for (PFPW_EXECUTOR, PFPW_WORKERS): for the
    schedule's and the sensor's runs, as for `pfpw run`."""
    return multiprocess_config(settings.workers) if settings.executor == "multiprocess" else {}
