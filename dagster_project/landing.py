"""The landing zone as the pipeline sees it: which entries are deliveries, which are ignored, and why.

Every byte an agency delivers is untrusted, its names and the kind of each entry included:

- only **regular files** are deliveries. Links inside the landing zone are never followed (the root
  itself may be a link); FIFOs, sockets, devices, and directories where a file belongs are listed as
  ignored with the reason and never opened (a FIFO would hang a read, a link would bring in a file
  from elsewhere on the machine);
- a name holding a control character (a trailing newline, say) or bytes that do not decode as UTF-8
  is ignored with the reason, the name printed escaped (``\\n``, ``\\xff``); such a name never reaches
  a pattern, a hash or a terminal as it is;
- hidden entries (a name starting with ``.``: an editor's or a copy tool's temporary) are skipped;
- a delivery is opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again on the open descriptor, so a
  file swapped for a link or a FIFO after the listing is refused too, and its size is bounded
  (:func:`read_bytes`).

Pure Python over paths: no Dagster, no polars.
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# the largest file read as a delivery (PFPW_MAX_FILE_BYTES, see settings.max_file_bytes)
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024


class NotADelivery(OSError):
    """A path that is not a regular file of the landing zone (or grew past the bound) when opened."""


def kind_of(mode: int) -> str:
    """What an ``lstat`` mode is, in the words of the ignored files' reasons."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


NOT_REGULAR = {
    "link": "a link (links in the landing zone are not followed): deliver the file itself",
    "FIFO": "a FIFO (named pipe), not a regular file: never opened",
    "socket": "a socket, not a regular file: never opened",
    "device": "a device, not a regular file: never opened",
    "special file": "not a regular file: never opened",
}


def name_problem(name: str) -> str | None:
    """Why a file or folder name is refused, or None: undecodable bytes or control characters."""
    if name.isascii() and name.isprintable():  # the common case, at once (ASCII's controls are not printable)
        return None
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        return "its name is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029" for ch in name):
        return "its name holds a control character"
    return None


def escaped(name: str) -> str:
    """A name as it can be printed and stored: undecodable bytes as ``\\xNN``, control characters escaped."""
    # the common case, as it is (ASCII's control characters are not printable)
    if name.isascii() and name.isprintable():
        return name
    raw = os.fsencode(name).decode("utf-8", errors="backslashreplace")
    out = []
    for ch in raw:
        if unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Odd:
    """An entry of the landing zone that is never opened: not a regular file, or a refused name."""

    rel: str  # its path under the landing zone, escaped
    kind: str  # file, directory, link, FIFO, socket, device, special file
    reason: str
    mtime: float  # lstat's: the entry's own time, never a link target's


@dataclass
class Inventory:
    files: list[Path] = field(default_factory=list)  # regular files with acceptable names, sorted
    # each file's path under the landing zone (POSIX), in the order of ``files``
    rels: list[str] = field(default_factory=list)
    odd: list[Odd] = field(default_factory=list)  # everything else worth listing, sorted by rel


def scan(sources: Path) -> Inventory:
    """Walk the landing zone once, without following links below its root."""
    inv = Inventory()
    if not sources.is_dir():
        return inv
    _walk(Path(sources), "", inv)  # files in sorted path order (Path's, component by component)
    inv.odd.sort(key=lambda o: o.rel)
    return inv


def _walk(folder: Path, prefix: str, inv: Inventory) -> None:
    try:
        # depth-first in name order: the files come out sorted as paths are, with no sort of 275,000 paths after
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        inv.odd.append(Odd(prefix.rstrip("/") or ".", "directory", f"cannot be listed ({exc.strerror})", 0.0))
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        rel = prefix + escaped(name)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # gone since the listing
        kind = kind_of(st.st_mode)
        problem = name_problem(name)
        if problem:
            inv.odd.append(Odd(rel, kind, f"{problem}: ignored ({kind})", st.st_mtime))
        elif kind == "directory":
            _walk(folder / name, rel + "/", inv)
        elif kind == "file":
            inv.files.append(folder / name)
            inv.rels.append(rel)
        else:
            inv.odd.append(Odd(rel, kind, NOT_REGULAR[kind], st.st_mtime))


def is_delivery_dir(path: Path) -> bool:
    """A folder of the landing zone itself (not a link to one elsewhere)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def subfolders(folder: Path) -> list[str]:
    """The names of ``folder``'s real sub-folders (no links), acceptable names only."""
    if not is_delivery_dir(folder):
        return []
    out = []
    for entry in os.scandir(folder):
        if (
            entry.is_dir(follow_symlinks=False)
            and not name_problem(entry.name)
            and not entry.name.startswith(".")
        ):
            out.append(entry.name)
    return sorted(out)


def open_regular(path: Path) -> int:
    """A descriptor of ``path`` if it is a regular file: links are not followed, FIFOs not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (getattr(os, "ELOOP", 40), getattr(os, "EMLINK", 31)):
            raise NotADelivery(f"{NOT_REGULAR['link']}") from exc
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotADelivery(NOT_REGULAR.get(kind_of(st.st_mode), "not a regular file"))
    return fd


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole of a delivered file, at most ``limit`` bytes (else :class:`NotADelivery`)."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise NotADelivery(f"{size:,} bytes, over the bound of {limit:,} (PFPW_MAX_FILE_BYTES)")
        chunks, total = [], 0
        while chunk := os.read(fd, max(size + 1 - total, 1 << 16)):  # one read for a file that keeps its size
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise NotADelivery(f"grew past the bound of {limit:,} bytes while read (PFPW_MAX_FILE_BYTES)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    """The sha256 of a regular file (read in chunks: any size), refusing links and FIFOs."""
    return sha256_and_stat(path)[0]


def sha256_and_stat(path: Path) -> tuple[str, os.stat_result]:
    """:func:`sha256`, and the open file's ``fstat`` taken before its bytes were read (digests.py)."""
    fd = open_regular(path)
    opened = os.fstat(fd)
    h = hashlib.sha256()
    with os.fdopen(fd, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), opened
