"""A run directory belongs to one run: checked (and claimed) before any training, so nothing is clobbered.

Two runs pointed at one `hydra.run.dir` would otherwise mix their checkpoints (`last.ckpt`, `last-v1.ckpt`),
configs, sample grids and TensorBoard events. A run writes `.ganlab_run` (who, where, since when) into its
directory; a later run that finds it, or an earlier run's checkpoints, is refused in one line (and writes
nothing there),
unless it resumes from that directory's own checkpoint (`ckpt_path=<dir>/checkpoints/last.ckpt`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from lightning.pytorch.plugins.environments import SLURMEnvironment
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from ganlab.utils.checkpoints import check_same_model, load_checkpoint
from ganlab.utils.errors import GanlabError, RunDirInUseError

MARKER = ".ganlab_run"
# A resume into a run's directory first copies the earlier attempt's record here (attempts/1/, ...): its
# results.json and Hydra's configs, which the resume's own would replace.
ATTEMPTS = "attempts"


def check_writable(folders: Iterable[tuple[str, str | os.PathLike]]) -> None:
    """Each (setting, folder): created if missing and written to once, or one line naming both."""
    for setting, folder in folders:
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as err:
            raise GanlabError(
                f"cannot write to '{path}' ({err.strerror or type(err).__name__}): point {setting} at a "
                "writable folder (or fix its permissions / free space)"
            ) from None


def check_unused(run_dir: Path, ckpt_path: str | None) -> None:
    """Refuse a directory another run has used, unless this run resumes from that directory's checkpoint
    (and that run is not still going)."""
    marker = run_dir / MARKER
    used = marker.exists() or any(run_dir.glob("checkpoints/*.ckpt"))
    if not used:
        return
    owner = _read(marker)
    if owner and _alive(owner):
        raise RunDirInUseError(
            f"run directory '{run_dir}' belongs to a run still going (pid {owner['pid']} on {owner['host']}, "
            f"since {owner['started']}): wait for it, or pass a new hydra.run.dir"
        )
    resuming_here = resumes_in(run_dir, ckpt_path)
    # A SLURM job requeued by Lightning's auto-requeue: Lightning resumes from its hpc_ckpt_N.ckpt here.
    requeued = SLURMEnvironment.detect() and any(run_dir.glob("hpc_ckpt_*.ckpt"))
    if not (resuming_here or requeued):
        raise RunDirInUseError(
            f"run directory '{run_dir}' was used by an earlier run: pass a new hydra.run.dir (or none), or "
            f"resume that run with ckpt_path={run_dir}/checkpoints/last.ckpt"
        )


def resumes_in(run_dir: Path, ckpt_path: str | None) -> bool:
    return ckpt_path is not None and run_dir.resolve() in Path(ckpt_path).resolve().parents


def keep_attempt(run_dir: Path) -> Path | None:
    """Copy the directory's record of its latest attempt (results.json, .hydra/*.yaml) to attempts/<n>/,
    byte for byte, before a resume writes its own; None when there is none to keep."""
    record = [run_dir / "results.json", *sorted((run_dir / ".hydra").glob("*.yaml"))]
    record = [path for path in record if path.is_file()]
    if not record:
        return None
    kept = run_dir / ATTEMPTS / str(len(earlier_attempts(run_dir)) + 1)
    for path in record:
        target = kept / path.relative_to(run_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return kept


def earlier_attempts(run_dir: Path) -> list[Path]:
    """attempts/1, attempts/2, ... in order."""
    found = [p for p in (run_dir / ATTEMPTS).glob("*") if p.is_dir() and p.name.isdigit()]
    return sorted(found, key=lambda p: int(p.name))


def claim(run_dir: Path) -> None:
    """Mark the directory as this process's run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (run_dir / MARKER).write_text(json.dumps(owner))


def _read(marker: Path) -> dict | None:
    try:
        return json.loads(marker.read_text())
    except (OSError, ValueError):
        return None


def _alive(owner: dict) -> bool:
    """The marking process is running on this machine (and is not this one)."""
    if owner.get("host") != socket.gethostname() or owner.get("pid") == os.getpid():
        return False
    try:
        return pid_alive(int(owner["pid"]))
    except (ValueError, KeyError, TypeError):
        return False


def pid_alive(pid: int) -> bool:
    """A process `pid` runs on this machine (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def output_folders(cfg: DictConfig) -> list[tuple[str, str]]:
    """(setting, folder) for every folder a training run writes to."""
    folders = [("hydra.run.dir", str(cfg.paths.output_dir))]
    for group, key in (("callbacks", "dirpath"), ("logger", "save_dir")):
        for name, node in (cfg.get(group) or {}).items():
            if node and node.get(key):
                folders.append((f"{group}.{name}.{key}", str(node[key])))
    if cfg.data.get("cache_dir"):
        folders.append(("data.cache_dir", str(cfg.data.cache_dir)))
    return folders


def refuse_if_used(cfg: DictConfig) -> None:
    """First of all, before anything (even results.json) is written there; on the first process only
    (DDP's others share its directory)."""
    if rank_zero_only.rank == 0:
        check_unused(Path(cfg.paths.output_dir), cfg.get("ckpt_path"))


def prepare(cfg: DictConfig) -> None:
    """Before any training: every output folder is writable; then the run directory is claimed."""
    if rank_zero_only.rank == 0:
        check_writable(output_folders(cfg))
        claim(Path(cfg.paths.output_dir))


class RunDirGuard(Callback):
    """The same checks for a single `python train.py`, before Hydra writes its .hydra/ configs into the
    directory (they would overwrite the earlier run's). A resume there has its checkpoint checked first
    (refused, it changes nothing), then the earlier attempt's record is kept (keep_attempt)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if rank_zero_only.rank != 0:
            return
        run_dir, ckpt_path = Path(config.hydra.run.dir), config.get("ckpt_path")
        try:
            check_writable([("hydra.run.dir", run_dir)])
            check_unused(run_dir, ckpt_path)
            if resumes_in(run_dir, ckpt_path):
                check_same_model(load_checkpoint(ckpt_path), config.model.get("_target_"), "ckpt_path")
                keep_attempt(run_dir)
        except GanlabError as err:
            raise SystemExit(f"error: {err}") from None
