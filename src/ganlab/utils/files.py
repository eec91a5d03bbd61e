"""Writing files so that a reader never sees half of one, whatever kills the writer."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """A temporary file beside `path`, renamed over it when the block ends; removed if the block fails.
    A killed process leaves at most a stray temporary file, never a truncated `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", delete=False)  # noqa: SIM115
    try:
        with tmp:  # closing flushes: a full disk may show only there
            yield tmp
        os.chmod(tmp.name, 0o666 & ~_umask())  # as open() would have made it; temporary files are private
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 16 MiB blocks (BLAKE2b reads 0.6 GB/s on a 2-core CPU)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(16 << 20):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(path: str | os.PathLike) -> str:
    """What a metric's protocol records of the weights it used."""
    return file_digest(path, "sha256")
