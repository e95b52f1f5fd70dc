"""The landing files' sha256, kept between runs: a file is read again only when it changed.

Every night looks at every landing file twice (the state of the landing zone, then ingestion's
comparison with the ledger). A province's ten years are some 275,000 files: hashing them all
took about 21 s a night for each look. Like git's index, this keeps each file's sha256 with
what ``lstat`` said of it (size, modification and change times in nanoseconds, inode, device),
and trusts the digest while ``lstat`` still says the same:

- the change time (``st_ctime``) is set by the kernel on every write, rename or change of
  metadata, and cannot be set from user space (``touch`` and ``os.utime`` set only the
  modification time): a file whose bytes changed never keeps its old entry, whatever its
  modification time says, and a file moved in from elsewhere is another inode;
- a file is hashed from its open descriptor, whose ``fstat`` is taken before its bytes are read:
  a write during the read changes the times, so the next look hashes it again;
- a file changed less than ``RACY_NS`` before it was hashed is not kept (git's "racily clean"
  entries): on a file system with a coarse clock, a second write in the same tick would keep its
  times, so such a file is hashed again until it is older.

The store is ``<warehouse>/state/landing_sha256.json``: paths relative to the landing zone, with
the landing zone's own path (another landing zone starts afresh). It holds what the last look at
the whole landing zone saw (:meth:`LandingDigests.save`), so a withdrawn file leaves it. A lost or
unreadable store only costs one night's hashing. Pure Python: no Dagster, no polars.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from dagster_project import atomic, landing

STORE = "landing_sha256.json"
VERSION = 1
RACY_NS = 2_000_000_000  # changed less than this before it was hashed: hashed again next time


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class LandingDigests:
    """The landing files' sha256 for one landing zone, from ``store`` (None: nothing kept)."""

    def __init__(self, sources: Path, store: Path | None = None):
        self.sources = os.path.abspath(sources)
        self.store = store
        self.entries: dict[str, list] = {}  # rel -> [size, mtime_ns, ctime_ns, ino, dev, sha256]
        self.seen: set[str] = set()  # the files looked at through this object
        self.hashed = 0  # files read (not found in the store, or changed)
        self._loaded: tuple[int, int] | None = None  # the store's (mtime_ns, size) when read
        self.reload()

    def reload(self) -> None:
        """Read the store again if another process replaced it since (cheap when it did not)."""
        if self.store is None:
            return
        try:
            st = self.store.stat()
        except OSError:
            return
        if self._loaded == (st.st_mtime_ns, st.st_size):
            return
        try:
            payload = json.loads(self.store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            payload = None
        self._loaded = (st.st_mtime_ns, st.st_size)
        if (
            isinstance(payload, dict)
            and payload.get("version") == VERSION
            and payload.get("sources") == self.sources
            and isinstance(payload.get("entries"), dict)
        ):
            self.entries = {**payload["entries"], **self.entries}

    def sha256(self, path: Path, rel: str) -> str:
        """``path``'s sha256 (``rel``: its path under the landing zone), read only if it changed.

        Links, FIFOs and other non-regular files are refused as :func:`landing.sha256` refuses them
        (:class:`landing.NotADelivery`); a file gone raises ``OSError``."""
        self.seen.add(rel)
        st = os.lstat(path)
        entry = self.entries.get(rel)
        if entry is not None and stat.S_ISREG(st.st_mode) and entry[:5] == _signature(st):
            return entry[5]
        taken = time.time_ns()
        digest, opened = landing.sha256_and_stat(path)
        self.hashed += 1
        if max(opened.st_mtime_ns, opened.st_ctime_ns) + RACY_NS < taken:
            self.entries[rel] = [*_signature(opened), digest]
        else:
            self.entries.pop(rel, None)
        return digest

    def save(self, prune: bool = False) -> None:
        """Write the store (atomically). ``prune``: keep only the files looked at (a look at the whole
        landing zone: withdrawn files leave the store)."""
        if self.store is None:
            return
        entries = {r: e for r, e in self.entries.items() if r in self.seen} if prune else self.entries
        if prune:
            self.seen = set()  # the next look starts afresh
        atomic.write_json(
            self.store,
            {"version": VERSION, "sources": self.sources, "entries": entries},
            separators=(",", ":"),
        )
        st = self.store.stat()
        self._loaded = (st.st_mtime_ns, st.st_size)
        self.entries = entries


_OPEN: dict[tuple[str, str], LandingDigests] = {}


def for_warehouse(sources: Path, warehouse: Path | None) -> LandingDigests:
    """The digests of ``sources`` kept in ``warehouse`` (one object per process, refreshed from the store
    when another process wrote it); without a warehouse, nothing is kept."""
    if warehouse is None:
        return LandingDigests(sources)
    key = (os.path.abspath(sources), os.path.abspath(warehouse))
    if key not in _OPEN:
        release()  # one landing zone and warehouse at a time: a province's entries are some 150 MB
        _OPEN[key] = LandingDigests(sources, Path(warehouse) / "state" / STORE)
    digests = _OPEN[key]
    digests.reload()
    return digests


def release() -> None:
    """Let go of the digests this process keeps (:func:`for_warehouse`): once a run's ingestion is done,
    nothing else in it looks at the landing files, and a province's entries are some 150 MB (18 MB at
    10 districts × 10 years) that the rest of the night would carry. Only what the store holds is kept
    (the next look reads it again); nothing unsaved is lost: ingestion never saves the store."""
    _OPEN.clear()
