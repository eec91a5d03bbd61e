"""The GAN training machinery every adversarial model shares: alternating D/G steps with manual optimization.

A subclass builds `self.generator` and `self.discriminator` and may override `generate`, `discriminate` and
`sample_grids`; the steps, optimizers, labels, clipping, logging and checkpoint hygiene live here.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from torch import nn

from ganlab.models.losses import make_loss
from ganlab.utils.errors import GanlabError
from ganlab.utils.rng import collect_rng_states, set_rng_states


class GANModule(L.LightningModule):
    """Per batch: one D step on real vs detached fakes, then (every `n_critic` batches) one G step."""

    generator: nn.Module
    discriminator: nn.Module

    def __init__(
        self,
        latent_dim: int = 100,
        lr: float = 2e-4,
        lr_g: float | None = None,
        lr_d: float | None = None,
        beta1: float = 0.5,
        beta2: float = 0.999,
        optimizer: str = "adam",
        n_critic: int = 1,
        grad_clip_val: float | None = None,
        grad_clip_algorithm: str = "norm",
        label_smoothing: float = 0.0,
        label_noise: float = 0.0,
        latent_prior: str = "normal",
        loss: str = "ns",
        num_fixed_samples: int = 64,
        fixed_noise_seed: int = 1234,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        _check_choice("model.optimizer", optimizer, ("adam", "rmsprop"))
        _check_choice("model.latent_prior", latent_prior, ("normal", "uniform"))
        _check_choice("model.grad_clip_algorithm", grad_clip_algorithm, ("norm", "value"))
        if n_critic < 1:
            raise GanlabError(f"model.n_critic={n_critic} must be at least 1")
        if not 0.0 <= label_smoothing + label_noise < 0.5:
            raise GanlabError("model.label_smoothing + model.label_noise must lie in [0, 0.5)")
        self.loss = make_loss(loss)
        # A buffer: saved in checkpoints, so grids stay comparable across epochs, resumes and sweep runs.
        fixed = self.sample_latent(
            num_fixed_samples, generator=torch.Generator().manual_seed(fixed_noise_seed)
        )
        self.register_buffer("fixed_z", fixed)

    # --- what subclasses may override ---------------------------------------------------------------
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        shape = (n, self.hparams.latent_dim)
        device = None if generator is not None else self.device
        if self.hparams.latent_prior == "uniform":
            return torch.rand(shape, generator=generator, device=device) * 2 - 1
        return torch.randn(shape, generator=generator, device=device)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(images)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(z, labels)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [-1, 1] from the prior; with a (CPU) `generator`, the global RNG is left alone."""
        return self.generate(self.sample_latent(n, generator=generator).to(self.device))

    @torch.no_grad()
    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Images for the sample-grid callback: name -> (images in [-1, 1], images per row)."""
        return {"fixed_noise": (self.generate(self.fixed_z), math.ceil(math.sqrt(len(self.fixed_z))))}

    # --- training ------------------------------------------------------------------------------------
    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, labels = batch  # labels are -1 for unlabelled data; only conditional models read them
        opt_d, opt_g = self.optimizers()
        g_steps = (batch_idx + 1) % self.hparams.n_critic == 0
        z = self.sample_latent(real.shape[0])
        # When G steps too, its forward is kept and reused there (as in pytorch/examples' dcgan).
        with torch.set_grad_enabled(g_steps):
            fake = self.generate(z, labels)

        self.toggle_optimizer(opt_d)
        real_logits = self.discriminate(real, labels)
        fake_logits = self.discriminate(fake.detach(), labels)
        real_target, fake_target = self._d_targets(real_logits)
        d_loss = self.loss.d_loss(real_logits, fake_logits, real_target, fake_target)
        self._step(opt_d, d_loss)
        self.untoggle_optimizer(opt_d)

        with torch.no_grad():
            self.log_dict(
                {
                    "train/d_loss": d_loss,
                    "train/d_real": self.loss.prob(real_logits).mean(),
                    "train/d_fake": self.loss.prob(fake_logits).mean(),
                    "train/d_acc": ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2,
                },
                prog_bar=False,
            )
        self.log("d_loss", d_loss, prog_bar=True, logger=False)

        if g_steps:
            self.toggle_optimizer(opt_g)
            g_loss = self.loss.g_loss(self.discriminate(fake, labels))
            self._step(opt_g, g_loss)
            self.untoggle_optimizer(opt_g)
            self.log("train/g_loss", g_loss)
            self.log("g_loss", g_loss, prog_bar=True, logger=False)

    def _d_targets(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real targets 1 - smoothing, less up to `label_noise` at random; fakes up to `label_noise`."""
        real = torch.full_like(logits, 1.0 - self.hparams.label_smoothing)
        fake = torch.zeros_like(logits)
        if self.hparams.label_noise > 0:
            real = real - self.hparams.label_noise * torch.rand_like(logits)
            fake = fake + self.hparams.label_noise * torch.rand_like(logits)
        return real, fake

    def _step(self, optimizer: Any, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.hparams.grad_clip_val:
            # Lightning refuses Trainer(gradient_clip_val) under manual optimization: clip here.
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.hparams.grad_clip_val,
                gradient_clip_algorithm=self.hparams.grad_clip_algorithm,
            )
        optimizer.step()
        # Freed at once: the other network's step must not see (or keep in memory) these gradients.
        optimizer.zero_grad(set_to_none=True)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        lr_d, lr_g = hp.lr_d or hp.lr, hp.lr_g or hp.lr

        def make(params: Any, lr: float) -> torch.optim.Optimizer:
            if hp.optimizer == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr)
            return torch.optim.Adam(params, lr=lr, betas=(hp.beta1, hp.beta2))

        return [make(self.discriminator.parameters(), lr_d), make(self.generator.parameters(), lr_g)]

    # --- checkpoints ---------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # With the RNG state saved, a resumed run draws the same noise and batches as an uninterrupted one.
        checkpoint["rng_states"] = collect_rng_states()
        checkpoint["ganlab_model"] = type(self).__name__

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_checkpoint(checkpoint)
        if "rng_states" in checkpoint:
            set_rng_states(checkpoint["rng_states"])

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
                saved = checkpoint.get("hyper_parameters", {})
                differ = [
                    f"{k}={saved[k]} (now {v})"
                    for k, v in self.hparams.items()
                    if k in saved and saved[k] != v
                ]
                raise GanlabError(
                    f"the checkpoint's {key} has shape {tuple(value.shape)}, this model's "
                    f"{tuple(own[key].shape)}; it was trained with {', '.join(differ) or 'other settings'}: "
                    "use the same settings to resume"
                )


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise GanlabError(f"{name}={value!r} is not known: use one of {', '.join(choices)}")
