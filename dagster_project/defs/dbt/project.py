"""The dbt project and its manifest, prepared without Dagster's definitions and without PATH.

``make install`` runs ``python -m dagster_project.defs.dbt.project`` (the manifest is ready before the
UI or the CLI starts), and ``pfpw`` calls :func:`prepare_manifest` before it loads the
definitions. The ``dbt`` executable is the one beside this environment's Python, so nothing
depends on the venv's ``bin/`` being on PATH (it is not under ``make ui``).
"""

from __future__ import annotations

import fcntl
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from dagster_project.settings import DBT_PROJECT_DIR

DBT_EXECUTABLE = (
    str(Path(sys.executable).parent / "dbt")
    if (Path(sys.executable).parent / "dbt").exists()
    else shutil.which("dbt") or "dbt"
)
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _project_files(root: Path) -> list[Path]:
    files = [root / "dbt_project.yml", root / "profiles.yml"]
    for sub in ("models", "macros", "tests"):
        files += [p for p in (root / sub).rglob("*") if p.is_file()]
    return files


def manifest_is_fresh(project: DbtProject = dbt_project) -> bool:
    manifest = project.manifest_path
    newest = max(p.stat().st_mtime for p in _project_files(Path(project.project_dir)))
    return manifest.exists() and manifest.stat().st_mtime >= newest


def prepare_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the dbt project if its manifest is missing or stale (one process at a time)."""
    manifest = project.manifest_path
    if manifest_is_fresh(project):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_fresh(project):
            DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
                ["--quiet", "parse"], target_path=project.target_path
            ).wait()
    return manifest


if __name__ == "__main__":
    print(f"dbt manifest: {prepare_manifest()}")
