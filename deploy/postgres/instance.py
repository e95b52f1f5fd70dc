"""Write $DAGSTER_HOME/dagster.yaml for `make serve`: deploy/dagster.yaml with its storage on PostgreSQL.

    python deploy/postgres/instance.py --home DAGSTER_HOME [--url URL]

Every block of deploy/dagster.yaml (run coordinator, run monitoring, telemetry, ...) is kept but its storage
(``storage``, ``run_storage``, ``event_log_storage``, ``schedule_storage``: the SQLite event log of a clone),
replaced by deploy/dagster-postgres.yaml's ``storage: postgres:`` block. Without --url the block reads
PFPW_DAGSTER_PG_URL from the environment of every process that opens the instance (which must then be set, in
SQLAlchemy's form); with --url (the local cluster's socket, no password) the URL is written into the file.
A dagster.yaml this script did not write is kept once as dagster.yaml.before-postgres. Exit 2: a bad URL.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
HEADER = (
    "# Written by `make serve` (deploy/postgres/instance.py) from deploy/dagster.yaml and\n"
    "# deploy/dagster-postgres.yaml, again at every start: change those, not this file.\n"
)
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")
SCHEME = "postgresql+psycopg2://"


def instance_config(url: str | None) -> dict:
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text(encoding="utf-8")) or {}
    config = {key: value for key, value in config.items() if key not in STORAGE_KEYS}
    config.update(yaml.safe_load((DEPLOY / "dagster-postgres.yaml").read_text(encoding="utf-8")))
    if url:
        config["storage"]["postgres"]["postgres_url"] = url
    return config


def url_problem(url: str | None, name: str) -> str | None:
    if not url:
        return f"{name} is empty"
    if not url.startswith(SCHEME):
        scheme = url.split("://", 1)[0] if "://" in url else "none"
        return (
            f"{name} must start with {SCHEME} (scheme: {scheme}): dagster-postgres connects through "
            "SQLAlchemy 2.1, which maps a bare postgresql:// to psycopg 3, not installed (psycopg2 is)"
        )
    return None


def write(home: Path, url: str | None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    text = HEADER + yaml.safe_dump(instance_config(url), sort_keys=False, allow_unicode=True)
    if target.exists():
        old = target.read_text(encoding="utf-8")
        if old == text:
            return target
        keep = home / "dagster.yaml.before-postgres"
        if not old.startswith(HEADER) and not keep.exists():
            keep.write_text(old, encoding="utf-8")
            print(f"make serve: the previous {target} is kept as {keep.name}")
    partial = home / "dagster.yaml.partial"
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, type=Path, help="the instance's DAGSTER_HOME")
    parser.add_argument("--url", help="the local cluster's URL, written into the file")
    args = parser.parse_args(argv)
    problem = (
        url_problem(args.url, "--url")
        if args.url is not None
        else url_problem(os.environ.get("PFPW_DAGSTER_PG_URL"), "PFPW_DAGSTER_PG_URL")
    )
    if problem:
        print(f"make serve: {problem}", file=sys.stderr)
        return 2
    target = write(args.home, args.url)
    where = "the local cluster's socket" if args.url else "the server PFPW_DAGSTER_PG_URL names"
    print(f"make serve: {target}: run, event-log and schedule storage in PostgreSQL ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
