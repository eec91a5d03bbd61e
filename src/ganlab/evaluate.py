"""Score a trained generator, or two image folders; `evaluate.py` at the project root is the command.

A checkpoint carries its run's resolved config (callbacks.RunConfig), so the model and the real data come
from it; `+data.<key>=` / `+model.<key>=` override single settings of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ganlab.metrics.folders import score_folders
from ganlab.tasks import TASKS
from ganlab.utils.disk import cause_is_full_disk, free_bytes, megabytes
from ganlab.utils.errors import GanlabError
from ganlab.utils.ranked_log import RankedLogger
from ganlab.utils.restore import load_generator, merge_settings

__all__ = ["evaluate", "load_generator", "merge_settings"]
log = RankedLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """FID / IS / KID of `ckpt_path`'s generator, or of `fake_dir` against `real_dir`; writes metrics.json
    (and a sample grid, and on request every generated image) to the run directory. With `task=<name>`,
    another of the registered tasks (ganlab.tasks) on the checkpoint's model."""
    if cfg.get("real_dir") or cfg.get("fake_dir"):
        return score_folders(cfg)
    if not cfg.get("ckpt_path"):
        raise GanlabError(
            "nothing to evaluate: pass ckpt_path=<a .ckpt written by train.py> "
            "or real_dir=<folder> fake_dir=<folder>"
        )
    name = cfg.get("task", "metrics")
    if name not in TASKS:
        *others, last = TASKS
        raise GanlabError(f"task={name!r} is not known: use {', '.join(others)} or {last}")
    if cfg.real_split not in ("train", "test"):
        raise GanlabError(f"real_split={cfg.real_split!r} is not known: use train or test")
    model, checkpoint = load_generator(cfg)
    out = Path(cfg.paths.output_dir)
    try:
        return TASKS[name](cfg, model, checkpoint, out)
    except Exception as err:
        if (full := cause_is_full_disk(err)) is None or isinstance(err, GanlabError):
            raise
        raise GanlabError(
            f"no space left on device writing {full.filename or out} ({megabytes(free_bytes(out))} free "
            "there): free some space, or point hydra.run.dir at a disk with room"
        ) from None
