"""Reading checkpoints for evaluation and warm starts, with one-line errors for the wrong file."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins import TorchCheckpointIO

from ganlab.utils.disk import cause_is_full_disk, full_disk_error, saved_size
from ganlab.utils.errors import GanlabError
from ganlab.utils.files import atomic_open


def load_checkpoint(path: str | os.PathLike, option: str = "ckpt_path") -> dict[str, Any]:
    """A checkpoint written by ganlab's train.py (weights-only loading: no code runs from the file)."""
    path = Path(path)
    if not path.is_file():
        raise GanlabError(f"{option} '{path}' is not a file: pass the path of a .ckpt (e.g. .../last.ckpt)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and weights-only refusals come as many types
        raise GanlabError(
            f"{option} '{path}' could not be read as a checkpoint ({type(err).__name__}): it is truncated or "
            "not a ganlab checkpoint; pass a last.ckpt or epoch_NNN.ckpt that train.py wrote"
        ) from None
    if not isinstance(checkpoint, dict) or "ganlab_config" not in checkpoint:
        raise GanlabError(
            f"{option} '{path}' holds no ganlab run config: pass a checkpoint written by ganlab's train.py"
        )
    check_release(checkpoint, option)
    return checkpoint


def check_release(checkpoint: dict[str, Any], option: str) -> None:
    """Refuse, in one line, a generative model's checkpoint from ganlab 0.1, whose networks were flat model
    settings (model.g_width, ...): 0.2 builds them from config nodes, under other parameter names."""
    model = checkpoint.get("ganlab_config", {}).get("model", {})
    if "ganlab_version" not in checkpoint and model.get("_target_") != "ganlab.models.Classifier":
        raise GanlabError(
            f"{option}: this checkpoint was written by ganlab 0.1, whose networks were flat model settings; "
            f"ganlab {version('ganlab')} builds them from model.generator / model.discriminator nodes: "
            "evaluate or resume it with ganlab 0.1 (pip install 'ganlab<0.2'), or train it again"
        )


def check_same_model(checkpoint: dict[str, Any], target: str | None, option: str) -> None:
    """Refuse, in one line, a checkpoint of another model class than the run builds (a classifier's for a
    GAN, ...): resuming it would fail deep in Lightning with missing state_dict keys."""
    trained = checkpoint["ganlab_config"].get("model", {}).get("_target_")
    if target is not None and trained is not None and trained != target:
        raise GanlabError(
            f"{option} holds a {trained.rsplit('.', 1)[-1]} run but this run builds "
            f"{target.rsplit('.', 1)[-1]}: choose the model it was trained with (its run's "
            ".hydra/overrides.yaml) or another checkpoint"
        )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch.save checkpoints, written to a temporary file beside the target and renamed over
    it: a run killed during a save (kill -9, out of memory, pre-emption) leaves the previous `last.ckpt`
    whole, never half of a new one. A full disk is one line saying so (DiskFullError), not torch's zip
    writer's "unexpected pos"."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any | None = None
    ) -> None:
        if "://" in str(path):  # remote storage (s3://...): fsspec's own writes
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_open(path, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
        except (OSError, RuntimeError) as err:
            if cause_is_full_disk(err) is None:
                raise
            raise full_disk_error(path, saved_size(checkpoint)) from None
