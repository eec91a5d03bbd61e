"""Disk space: what a run's files take, what a folder has free, and a full disk said in one line (torch's
own report of it is a RuntimeError from its zip writer, "unexpected pos", with the cause 30 lines up)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from ganlab.utils.errors import GanlabError

FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(GanlabError):
    """No room for a file the run must write."""


class _Counter:
    """A file that keeps only the count of bytes written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def saved_size(obj: Any) -> int:
    """Bytes torch.save writes for `obj`, found without writing them anywhere."""
    counter = _Counter()
    torch.save(obj, counter)
    return counter.size


def free_bytes(path: str | os.PathLike) -> int:
    """Free space where `path` is, or would be (its nearest existing folder)."""
    folder = Path(path).absolute()
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def cause_is_full_disk(err: BaseException) -> OSError | None:
    """The 'no space left' (or quota) OSError behind `err`, however deep in its chain; None if none."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in FULL:
            return err
        err = err.__cause__ or err.__context__
    return None


def full_disk_error(path: str | os.PathLike, needed: int | None) -> DiskFullError:
    """The one line for a write to `path` (a file, or a folder when the file is not known) that found no
    room, with the state of the run's last.ckpt (beside `path`, or in the run folder `path`)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    what = f"in '{folder}'" if folder == path else f"'{path}'"
    need = f"{megabytes(needed)} needed, " if needed else ""
    places = (folder / "last.ckpt", folder / "checkpoints" / "last.ckpt")
    last = next((p for p in places if p.is_file()), None)
    kept = f"the last checkpoint {last} is intact" if last else "no last.ckpt was written yet"
    return DiskFullError(
        f"no space left on device writing {what} ({need}{megabytes(free_bytes(folder))} free there); "
        f"{kept}: free some space, or point hydra.run.dir at a disk with room"
    )
