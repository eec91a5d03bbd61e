"""The decoded-dataset cache, which checks itself before it is trusted.

A cache is `<key>.images.npy`, optionally `<key>.labels.npy`, and `<key>.json`, written last: its presence
marks a complete cache (each file is written to a temporary name and renamed, so a killed run leaves no
half file). The json records each array file's size and BLAKE2b digest; a file that is missing, truncated,
emptied or overwritten no longer matches, and the cache counts as absent (one warning naming the file), so
the data module decodes the images again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ganlab.utils.files import atomic_open, atomic_write_text, file_digest
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)

ARRAYS = ("images.npy", "labels.npy")
# Files this process has checked already, by (path, size, mtime): prepare_data() and setup() both ask.
_verified: set[tuple[str, int, int]] = set()


def cache_paths(cache_dir: Path, key: str) -> dict[str, Path]:
    return {part: cache_dir / f"{key}.{part}" for part in (*ARRAYS, "json")}


def write_cache(paths: dict[str, Path], images: np.ndarray, labels: np.ndarray | None, meta: dict) -> None:
    """The arrays, then the json naming their sizes and digests."""
    files = {}
    for part, array in (("images.npy", images), ("labels.npy", labels)):
        if array is None:
            continue
        with atomic_open(paths[part], "wb") as f:
            np.save(f, array)
        files[part] = _signature(paths[part])
    meta = {"count": len(images), "shape": list(images.shape[1:]), **meta, "files": files}
    atomic_write_text(paths["json"], json.dumps(meta, indent=1, default=str))


def read_meta(paths: dict[str, Path]) -> dict[str, Any] | None:
    """The cache's metadata when every file it names is there, whole and unchanged; else None (after a
    warning that names the damaged file), meaning "decode again"."""
    if not paths["json"].exists():
        return None
    try:
        meta = json.loads(paths["json"].read_text())
        files = meta["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return _damaged(paths["json"], "is unreadable or from an older ganlab")
    for part, expected in files.items():
        path = paths[part]
        if not path.is_file():
            return _damaged(path, "is missing")
        stat = path.stat()
        if stat.st_size != expected["bytes"]:
            return _damaged(path, f"holds {stat.st_size} bytes, not the {expected['bytes']} written")
        seen = (str(path), stat.st_size, stat.st_mtime_ns)
        if seen not in _verified:
            if file_digest(path, "blake2b") != expected["blake2b"]:
                return _damaged(path, "does not hold the bytes written (checksum mismatch)")
            _verified.add(seen)
    return meta


def _signature(path: Path) -> dict[str, Any]:
    stat = path.stat()
    _verified.add((str(path), stat.st_size, stat.st_mtime_ns))
    return {"bytes": stat.st_size, "blake2b": file_digest(path, "blake2b")}


def _damaged(path: Path, why: str) -> None:
    log.warning("dataset cache file %s %s: decoding the images again to rebuild it", path, why)
    return None
