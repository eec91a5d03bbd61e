"""What every ganlab image model shares, GAN or not: checkpoint hygiene, warm starts, grid images."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import lightning as L
import numpy as np
import torch

from ganlab.data.datamodules import ImageDataModule
from ganlab.models.divergence import LossGuard, check_finite_weights
from ganlab.utils.checkpoints import check_release
from ganlab.utils.errors import GanlabError
from ganlab.utils.hparams import dotted
from ganlab.utils.images import to_unit_range
from ganlab.utils.rng import collect_rng_states, set_rng_states


class GanlabModule(L.LightningModule):
    """What every ganlab image model shares: checkpoints that know their model (and refuse another's),
    RNG state for exact resumes, weights-only warm starts, and a fixed batch of real images for grids."""

    num_reconstructions = 0  # real images kept for reconstruction grids (the autoencoders set it)

    def __init__(self, max_loss: float | None = None) -> None:
        super().__init__()
        # Real images for reconstruction grids (on_fit_start); None until then, or without them.
        self.register_buffer("fixed_real", None, persistent=False)
        self.loss_guard = LossGuard(max_loss)

    def watch_loss(self, name: str, loss: torch.Tensor) -> None:
        """Every training loss, before its backward pass: see LossGuard."""
        self.loss_guard.watch(name, loss, self.global_step)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if (batch_idx + 1) % self.trainer.log_every_n_steps == 0:
            self.loss_guard.check(self)

    def on_train_epoch_end(self) -> None:
        self.loss_guard.check(self)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Refused before a byte is written: no checkpoint holds what a diverged step made of the weights.
        self.loss_guard.check(self)
        check_finite_weights(self, checkpoint["state_dict"])
        # With the RNG state saved, a resumed run draws the same noise and batches as an uninterrupted one.
        checkpoint["rng_states"] = collect_rng_states()
        checkpoint["ganlab_model"] = type(self).__name__
        checkpoint["ganlab_version"] = version("ganlab")

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        check_release(checkpoint, "ckpt_path")
        self.check_checkpoint(checkpoint)
        if "rng_states" in checkpoint:
            set_rng_states(checkpoint["rng_states"])

    def load_weights(self, checkpoint: dict[str, Any]) -> None:
        """Warm start (`init_from`): the networks' weights only; optimizers, counters and RNG start afresh.
        An EMA the checkpoint lacks starts as a copy of G."""
        self.check_checkpoint(checkpoint)
        missing, unexpected = self.load_state_dict(checkpoint["state_dict"], strict=False)
        if [k for k in missing + unexpected if not k.startswith("ema.")]:
            raise GanlabError(
                f"the checkpoint's weights do not fit this model (missing {missing[:3]}, unexpected "
                f"{unexpected[:3]}): use the same model settings"
            )

    def check_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse, in one line, a checkpoint of another model or of other network sizes."""
        written_by = checkpoint.get("ganlab_model")
        if written_by is not None and written_by != type(self).__name__:
            raise GanlabError(
                f"the checkpoint holds a {written_by} model but this run builds {type(self).__name__}: "
                f"choose the matching model=... or another checkpoint"
            )
        own = self.state_dict()
        for key, value in checkpoint.get("state_dict", {}).items():
            if key in own and own[key].shape != value.shape:
                saved, now = dotted(checkpoint.get("hyper_parameters", {})), dotted(dict(self.hparams))
                differ = [f"{k}={saved[k]} (now {v})" for k, v in now.items() if k in saved and saved[k] != v]
                raise GanlabError(
                    f"the checkpoint's {key} has shape {tuple(value.shape)}, this model's "
                    f"{tuple(own[key].shape)}; it was trained with {', '.join(differ) or 'other settings'}: "
                    "use the same settings to resume"
                )

    def on_fit_start(self) -> None:
        """Keep `num_reconstructions` real images, spread over the set, for reconstruction grids."""
        count = self.num_reconstructions
        datamodule = self.trainer.datamodule
        if count and isinstance(datamodule, ImageDataModule):
            images = datamodule.real_images()  # some sets are sorted by class: take them evenly spaced
            index = np.linspace(0, len(images) - 1, count).astype(int)
            real = to_unit_range(torch.from_numpy(np.asarray(images[index])))
            self.fixed_real = real.to(self.device)
