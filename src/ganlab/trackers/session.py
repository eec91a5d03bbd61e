"""A run's trackers, built from the `logger` config group and closed however the run ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from ganlab.trackers.base import Tracker, check_installed, tracker_class
from ganlab.utils.errors import GanlabError, first_line
from ganlab.utils.ranked_log import RankedLogger
from ganlab.utils.settings import instantiate
from ganlab.utils.signals import Interrupted

log = RankedLogger(__name__)


def run_names(cfg: DictConfig) -> tuple[str, str | None]:
    """The run's name in every tracker (its folder below paths.log_dir, as TensorBoard lists it) and, for a
    multirun's job, its sweep's (the folder holding the jobs): W&B's group, MLflow's `sweep` tag."""
    log_dir, run = Path(cfg.paths.log_dir), Path(cfg.paths.output_dir)
    multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    return _below(run, log_dir), _below(run.parent, log_dir) if multirun else None


def _below(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def resumed_runs(checkpoint: dict[str, Any] | None, run_dir: Path) -> list[dict[str, Any]]:
    """The tracked runs to reopen: those of the checkpoint being resumed (ckpt_path), or of the newest
    hpc_ckpt_<n>.ckpt Lightning restores by itself in a SLURM job requeued into its run folder."""
    if checkpoint is None:
        numbered = [p for p in run_dir.glob("hpc_ckpt_*.ckpt") if p.stem.removeprefix("hpc_ckpt_").isdigit()]
        requeued = sorted(numbered, key=lambda p: int(p.stem.removeprefix("hpc_ckpt_")))
        if not requeued:
            return []
        try:
            checkpoint = torch.load(requeued[-1], map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # Lightning says what is wrong with it when it loads it
            return []
    return list(checkpoint.get("ganlab_trackers") or [])


@contextmanager
def open_trackers(cfg: DictConfig, resumed: list[dict[str, Any]]) -> Iterator[list[Tracker]]:
    """One Tracker a `logger.<name>` entry; `resumed`: the runs a checkpoint being resumed was logged to,
    which the loggers of their kinds reopen. On the way out each run is closed with how this one ended
    (W&B's finish between a multirun's jobs, MLflow's FINISHED / FAILED / KILLED)."""
    run_name, sweep = run_names(cfg)
    trackers: list[Tracker] = []
    status = "failed"
    try:
        for key, node in (cfg.get("logger") or {}).items():
            if not node or "_target_" not in node:
                continue
            kind = tracker_class(node._target_)
            check_installed(key, kind)
            node = OmegaConf.create(OmegaConf.to_container(node, resolve=True))  # the run's config unchanged
            kind.prepare(node, run_name, sweep)
            if run := next((run for run in resumed if run.get("kind") == kind.name), None):
                kind.reopen(node, run)
            trackers.append(kind(instantiate(node, f"logger.{key}")))
        yield trackers
        status = "success"
    except (KeyboardInterrupt, Interrupted):
        status = "killed"
        raise
    finally:
        for tracker in trackers:
            try:
                if tracker.started:
                    tracker.close(status)
            except Exception as err:  # the run's own outcome matters more than a tracker's goodbye
                log.warning(f"{tracker.name}: closing its run failed ({first_line(err)})")


@rank_zero_only
def start_runs(trackers: list[Tracker], params: dict[str, Any], metrics: tuple[str, ...]) -> list[dict]:
    """Each tracker's run opened with the hyper-parameters; what identifies them, for results.json and the
    checkpoints (a service refusing the run, e.g. W&B without an API key, is one line naming the logger)."""
    runs = []
    for tracker in trackers:
        try:
            tracker.hparams(params, metrics)
            tracker.started = True
            runs.append(tracker.run())
        except Exception as err:
            raise GanlabError(f"logger={tracker.name}: {first_line(err)}; {tracker.hint}") from err
    return runs
