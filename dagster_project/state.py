"""What a publication was built from, so that a night with nothing new can say so and publish nothing.

The *state* of a run is a digest of everything the served file depends on:

- the landing zone: every file's path and sha256 (reference tables, extracts, unknown files);
- the pseudonymisation key (its fingerprint, never the key);
- the code: every file of the ``dagster_project`` package, the dbt project and the lock file.

The first asset of every run (``landing_zone_state``) records the state it saw in
``<warehouse>/state/runs/<run_id>.json``, before anything is ingested; the publication
copies it to ``<warehouse>/state/published.json``. When today's state equals the published
one and the served file is the one that publication wrote, there is nothing to do.

This module imports neither Dagster nor the pipeline, so that the nothing-new decision is
cheap to take (the CLI, the schedule and the sensor all take it here).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dagster_project import atomic, landing, settings
from dagster_project.digests import for_warehouse
from dagster_project.schemas.contract import AGENCIES, MONTH_RE
from dagster_project.schemas.targets import TARGETS_FILE, TARGETS_PART


def file_sha256(path: Path) -> str:
    """A regular file's sha256 (links and FIFOs refused: see landing.py)."""
    return landing.sha256(path)


def landing_files(sources: Path) -> list[Path]:
    """Every regular file of the landing zone (hidden files are not deliveries; links are not followed)."""
    return landing.scan(sources).files


def _part_of(rel: str) -> str:
    parts = rel.split("/")
    top = parts[0] if len(parts) > 1 else "."
    if parts == ["reference", TARGETS_FILE]:  # not ingestion reference data: a part of its own
        return TARGETS_PART
    if top in AGENCIES or top == "reference":
        return top
    return "other"


def landing_parts(sources: Path, warehouse: Path | None = None) -> tuple[dict[str, str], int]:
    """A digest per part of the landing zone, and the number of files.

    The parts are what a night can rebuild from separately: one per agency folder (path and
    content hash of its files), ``reference`` (the reference tables), ``targets`` (``reference/targets.csv``,
    which no extract is validated against), ``folders`` (the month
    folders, empty ones too: they decide which years are covered) and ``other`` (files outside
    every contract folder, which only the ledger lists).

    With ``warehouse``, the files' digests kept there (digests.py) spare reading the files that did
    not change since the last look; the look is then kept for the next one (and for ingestion).
    """
    hashes: dict[str, hashlib._Hash] = {}
    inventory = landing.scan(sources)
    files = inventory.files
    digests = for_warehouse(sources, warehouse)
    digests.seen, hashed_before = set(), digests.hashed  # a look at the whole landing zone
    for p, rel in zip(files, inventory.rels, strict=True):
        try:
            digest = digests.sha256(p, rel)
        except OSError as exc:  # swapped for a link or a FIFO since the listing, or gone
            digest = f"unreadable: {exc}"
        hashes.setdefault(_part_of(rel), hashlib.sha256()).update(f"{rel}\0{digest}\n".encode())
    if digests.hashed > hashed_before or any(rel not in digests.seen for rel in digests.entries):
        digests.save(prune=True)  # something was read again, or left: the store follows the landing zone
    for odd in inventory.odd:  # never opened: what they are is what the ledger lists
        hashes.setdefault("other", hashlib.sha256()).update(f"{odd.rel}\0{odd.kind}\n".encode())
    folders = hashlib.sha256()
    for agency in AGENCIES:
        for month in landing.subfolders(sources / agency):
            if MONTH_RE.fullmatch(month):
                folders.update(f"{agency}/{month}\n".encode())
    parts = {k: v.hexdigest() for k, v in sorted(hashes.items())}
    parts["folders"] = folders.hexdigest()
    return parts, len(files)


def landing_digest(sources: Path) -> tuple[str, int]:
    """sha256 over every part's digest (see :func:`landing_parts`), and the number of files."""
    parts, files = landing_parts(sources)
    return _digest_of_parts(parts), files


def _digest_of_parts(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def stat_fingerprint(sources: Path) -> dict[str, str]:
    """Per top-level folder, a cheap fingerprint of names, sizes and modification times (for the sensor)."""
    by_folder: dict[str, hashlib._Hash] = {}
    inventory = landing.scan(sources)
    for p in inventory.files:
        rel = p.relative_to(sources)
        folder = rel.parts[0] if len(rel.parts) > 1 else "."
        try:
            st = p.lstat()
        except OSError:
            continue
        by_folder.setdefault(folder, hashlib.sha256()).update(
            f"{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
        )
    for odd in inventory.odd:
        folder = odd.rel.split("/")[0] if "/" in odd.rel else "."
        by_folder.setdefault(folder, hashlib.sha256()).update(
            f"{odd.rel}\0{odd.kind}\0{odd.mtime}\n".encode()
        )
    return {k: v.hexdigest()[:16] for k, v in sorted(by_folder.items())}


def _code_files() -> list[Path]:
    root = settings.PROJECT_DIR
    files = [p for p in (root / "dagster_project").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    dbt = settings.DBT_PROJECT_DIR
    files += [dbt / "dbt_project.yml", dbt / "profiles.yml"]
    for sub in ("models", "macros", "tests", "seeds", "snapshots", "analyses"):
        if (dbt / sub).is_dir():
            files += [p for p in (dbt / sub).rglob("*") if p.is_file()]
    lock = root / "uv.lock"
    if lock.exists():
        files.append(lock)
    return sorted(files)


def code_digest() -> str:
    """Changes with any file of the package, the dbt project or the locked dependencies."""
    root = settings.PROJECT_DIR
    h = hashlib.sha256()
    for p in _code_files():
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    from dagster_project.engines import engine

    if engine() != "duckdb":  # the same code on another engine is another build (DuckDB's digest unchanged)
        h.update(f"engine={engine()}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class State:
    landing: str
    files: int
    key: str
    code: str
    parts: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.landing}\0{self.key}\0{self.code}".encode()).hexdigest()

    def to_json(self) -> dict:
        return {**asdict(self), "digest": self.digest}

    def differences(self, other: dict | None) -> list[str]:
        """What changed against a recorded state, in words."""
        if not other:
            return ["no earlier publication"]
        out = []
        old_parts = other.get("parts") or {}
        if old_parts and {
            k for k in set(old_parts) | set(self.parts) if old_parts.get(k) != self.parts.get(k)
        } == {"calendar"}:
            out.append("a delivery due date passed")
        elif other.get("landing") != self.landing:
            out.append("landing zone")
        if other.get("key") != self.key:
            out.append("PII key")
        if other.get("code") != self.code:
            out.append("code or dbt project")
        return out


def current_state(sources: Path, key: bytes, warehouse: Path | None = None) -> State:
    """The state of a run: the landing zone's parts (read with ``warehouse``'s kept digests, if given),
    the key's fingerprint and the code's digest."""
    from dagster_project.deliveries import calendar_position
    from dagster_project.pii import key_fingerprint

    parts, files = landing_parts(sources, warehouse)
    parts["calendar"] = calendar_position()  # a delivery due date passing changes the delivery statuses
    return State(
        landing=_digest_of_parts(parts),
        files=files,
        key=key_fingerprint(key),
        code=code_digest(),
        parts=parts,
    )


# ------------------------------------------------------------------ records in the warehouse


def _state_dir(warehouse: Path) -> Path:
    return warehouse / "state"


def _write_json(path: Path, payload: dict) -> None:
    atomic.write_json(path, payload, indent=1, sort_keys=True)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def record_run_state(warehouse: Path, run_id: str, state: State) -> None:
    folder = _state_dir(warehouse) / "runs"
    _write_json(folder / f"{run_id}.json", state.to_json())
    # keep the folder small: only the newest few runs' states matter
    olds = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-20]
    for p in olds:
        p.unlink(missing_ok=True)


def run_state(warehouse: Path, run_id: str) -> dict | None:
    return _read_json(_state_dir(warehouse) / "runs" / f"{run_id}.json")


def _served_file_id(warehouse: Path) -> list[int] | None:
    try:
        st = (warehouse / "serving.duckdb").stat()
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def record_publication(warehouse: Path, run_id: str, published_at: str, state: dict | None) -> None:
    """Called right after serving.duckdb was replaced."""
    _write_json(
        _state_dir(warehouse) / "published.json",
        {
            "run_id": run_id,
            "published_at": published_at,
            "state": state,
            "served_file": _served_file_id(warehouse),
        },
    )


def last_publication(warehouse: Path) -> dict | None:
    """The last successful publication (run id, time, state), if the served file is still the one it wrote."""
    record = _read_json(_state_dir(warehouse) / "published.json")
    if not record or record.get("served_file") != _served_file_id(warehouse):
        return None
    return record


def nothing_new(warehouse: Path, state: State) -> dict | None:
    """The last publication, when it was built from exactly this state; else None."""
    pub = last_publication(warehouse)
    if pub and pub.get("state") and pub["state"].get("digest") == state.digest:
        return pub
    return None


# ------------------------------------------------------------------ what a night must rebuild


def record_writer(warehouse: Path, run_id: str) -> None:
    """The last run that wrote the lake or the working database (the state asset and dbt record it)."""
    _write_json(_state_dir(warehouse) / "writer.json", {"run_id": run_id})


def changes_since_publication(warehouse: Path, state: State) -> set[str] | None:
    """The landing-zone parts changed since the last publication, when only they need rebuilding.

    None (rebuild everything) unless the lake and the working database are exactly what the
    last publication built (no run wrote them since: a failed or half-done run forces a whole
    rebuild), from the same PII key, the same code and the same reference tables (validation
    reads them, so every file depends on them).
    """
    pub = last_publication(warehouse)
    old = (pub or {}).get("state") or {}
    if not pub or not old.get("parts") or not state.parts:
        return None
    if old.get("key") != state.key or old.get("code") != state.code:
        return None
    writer = _read_json(_state_dir(warehouse) / "writer.json")
    if not writer or writer.get("run_id") != pub["run_id"] or not (warehouse / "warehouse.duckdb").exists():
        return None
    changed = {k for k in set(old["parts"]) | set(state.parts) if old["parts"].get(k) != state.parts.get(k)}
    if "reference" in changed:
        return None
    return changed
