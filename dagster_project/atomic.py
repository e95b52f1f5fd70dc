"""Files written whole or not at all: a temporary beside the target (``.<name>.<pid>.tmp``), fsync,
then ``os.replace``. A reader sees the old file or the new one, never half of one; a writer killed
half-way leaves only its temporary, which ``writer_alive`` tells from one being written now."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


def temporary(path: Path) -> Path:
    """The temporary a writer in this process uses for ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(tmp: Path, path: Path) -> None:
    """fsync the written ``tmp``, then put it in the place of ``path``."""
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """``text`` (UTF-8) as the whole content of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, payload: Any, **dumps: Any) -> None:
    """``payload`` as JSON (``dumps``: json.dumps' options) as the whole content of ``path``."""
    write_text(path, json.dumps(payload, **dumps))


def is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)


def writer_alive(tmp: Path) -> bool:
    """Whether the process that is writing a temporary (``.<name>.<pid>.tmp``) still runs."""
    try:
        pid = int(tmp.name.removesuffix(TMP_SUFFIX).rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return False
    return pid != os.getpid() and pid_exists(pid)


def pid_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0: nothing is sent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
