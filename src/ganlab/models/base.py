"""The GAN training machinery every adversarial model shares: alternating D/G steps with manual optimization.

The networks and the loss are config components (models/components.py); a subclass may build them its own
way (`build_networks`) and override `generate`, `discriminate` and `sample_grids`; the steps, optimizers,
labels, clipping, augmentation and logging live here (checkpoint hygiene in models/module.py, the EMA and
standing statistics in models/sampling.py).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from ganlab.latent import truncated_normal
from ganlab.models.augment import check_policy, diff_augment
from ganlab.models.components import build, check_output
from ganlab.models.ema import make_ema
from ganlab.models.interface import Averaged, GenerativeModel
from ganlab.models.losses import build_loss
from ganlab.models.module import GanlabModule
from ganlab.models.sampling import GeneratorSampling
from ganlab.utils.errors import GanlabError
from ganlab.utils.modes import eval_mode


class GAN(GeneratorSampling, GanlabModule, GenerativeModel, Averaged):
    """Per batch: one D step on real vs detached fakes, then (every `n_critic` batches) one G step.

    Used as it is, an unconditional GAN of any generator and discriminator (`model=dcgan`: DCGAN's nets,
    `model=sngan`: the ResNet ones). `generator`, `discriminator` and `loss` are config nodes (plain dicts
    with a `_target_`); `build_networks` builds them with the data's shape, and the built networks are
    checked on a probe batch before anything trains."""

    generator: nn.Module
    discriminator: nn.Module
    default_generator: dict[str, Any] = {"_target_": "ganlab.nets.DCGANGenerator"}  # noqa: RUF012
    default_discriminator: dict[str, Any] = {"_target_": "ganlab.nets.DCGANDiscriminator"}  # noqa: RUF012

    def __init__(
        self,
        generator: dict[str, Any] | None = None,
        discriminator: dict[str, Any] | None = None,
        loss: dict[str, Any] | str = "ns",
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = 100,
        latent_prior: Literal["normal", "uniform"] = "normal",
        augment: list[str] | None = None,
        lr: float = 2e-4,
        lr_g: float | None = None,
        lr_d: float | None = None,
        beta1: float = 0.5,
        beta2: float = 0.999,
        optimizer: Literal["adam", "rmsprop"] = "adam",
        n_critic: int = 1,
        grad_clip_val: float | None = None,
        grad_clip_algorithm: Literal["norm", "value"] = "norm",
        label_smoothing: float = 0.0,
        label_noise: float = 0.0,
        ema_decay: float | None = None,
        ema_start: int = 0,
        ema_rampup: float | None = None,
        standing_stats: int | None = None,
        num_fixed_samples: int = 64,
        fixed_noise_seed: int = 1234,
        compile: bool = False,
        channels_last: bool = False,
        max_loss: float | None = 1.0e5,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_loss)
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.image_shape = (channels, image_size, image_size)
        self.augment_policy = check_policy(augment)
        self.loss = build_loss(loss)
        if compile and self.loss.penalises_gradients:
            raise GanlabError(
                f"model.compile=true cannot train {type(self.loss).__name__}: torch.compile does not "
                "differentiate twice (its gradient penalty does); drop one of them"
            )
        self.ema = None  # G's EMA (weights and BatchNorm statistics), made once G is built and checked
        self.generator, self.discriminator = self.build_networks()
        with torch.no_grad(), eval_mode(self):
            self.check_networks()
        if ema_decay is not None:
            self.ema = make_ema(self.generator, ema_decay, ema_rampup)
        # A buffer: saved in checkpoints, so grids stay comparable across epochs, resumes and sweep runs.
        fixed = self.sample_latent(
            num_fixed_samples, generator=torch.Generator().manual_seed(fixed_noise_seed)
        )
        self.register_buffer("fixed_z", fixed)

    # --- what subclasses provide or may override ---------------------------------------------------
    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """(generator, discriminator) from their config nodes: G gets latent_dim, channels and image_size,
        D channels and image_size (a subclass that needs others says so in its own `build_networks`)."""
        hp = self.hparams
        generator = self.build_generator(hp.latent_dim)
        discriminator = build(
            hp.discriminator or self.default_discriminator, "model.discriminator",
            channels=hp.channels, image_size=hp.image_size,
        )  # fmt: skip
        return generator, discriminator

    def build_generator(self, latent_dim: int) -> nn.Module:
        hp = self.hparams
        return build(
            hp.generator or self.default_generator, "model.generator",
            latent_dim=latent_dim, channels=hp.channels, image_size=hp.image_size,
        )  # fmt: skip

    def check_networks(self) -> None:
        """One probe batch (zeros: the global RNG is left alone) through G and D, in eval mode: an image of
        the data's shape out of G, one logit per image out of D; and no batch norm in a D whose loss
        penalises per-image gradients."""
        labels = self.sample_labels(2, generator=torch.Generator().manual_seed(0))
        images = self.generate(torch.zeros(2, self.hparams.latent_dim, device=self.device), labels)
        self.check_generated(images)
        check_output(
            self.discriminate(images, labels), (2,), "model.discriminator", "logits for 2 images",
            "give one logit per image (flatten the last layer's output)",
        )  # fmt: skip
        if self.loss.penalises_gradients and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules()
        ):
            raise GanlabError(
                f"the loss {type(self.loss).__name__} penalises per-image gradients, which batch norm in D "
                "mixes across the batch: use a discriminator without it (model.discriminator.norm=layer "
                "for DCGAN's)"
            )

    def check_generated(self, images: torch.Tensor) -> None:
        check_output(
            images, (len(images), *self.image_shape), "model.generator", "images",
            "make it produce data.channels x data.image_size x data.image_size images",
        )  # fmt: skip

    def sample_latent(
        self,
        n: int,
        generator: torch.Generator | None = None,
        shift: float = 0.0,
        scale: float = 1.0,
        truncation: float | None = None,
    ) -> torch.Tensor:
        shape = (n, self.hparams.latent_dim)
        device = None if generator is not None else self.device
        if self.hparams.latent_prior == "uniform":
            if truncation is not None:
                raise GanlabError(
                    f"truncation={truncation} needs a normal prior, and this model's model.latent_prior is "
                    "uniform: drop truncation"
                )
            z = torch.rand(shape, generator=generator, device=device) * 2 - 1
        else:
            z = truncated_normal(shape, truncation, generator, device)
        return z if shift == 0.0 and scale == 1.0 else shift + scale * z

    @property
    def prior(self) -> str:
        return self.hparams.latent_prior

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.run_generator(self.sampling_generator, z, labels)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(images)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generate(z, labels)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        return None

    @torch.no_grad()
    def sample_grids(self) -> dict[str, tuple[torch.Tensor, int]]:
        return {"fixed_noise": (self.generate(self.fixed_z), math.ceil(math.sqrt(len(self.fixed_z))))}

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """What D sees of an image batch, real or generated: DiffAugment's `model.augment` policy."""
        return diff_augment(images, self.augment_policy) if self.augment_policy else images

    # --- training ------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        """The fast paths (`model.channels_last`, `model.compile`), set up when training starts, before the
        optimizers and any DDP wrapping. Neither changes parameter names: checkpoints stay interchangeable."""
        if self.hparams.channels_last:  # 4-d weights (convolutions) in NHWC; activations follow them
            self.to(memory_format=torch.channels_last)
        if self.hparams.compile:  # in place (nn.Module.compile): no `_orig_mod.` in the state dict
            self.generator.compile()
            self.discriminator.compile()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, labels = batch  # labels are -1 for unlabelled data; only conditional models read them
        opt_d, opt_g = self.optimizers()
        g_steps = (batch_idx + 1) % self.hparams.n_critic == 0
        z = self.sample_latent(real.shape[0])
        # When G steps too, its forward is kept and reused there (as in pytorch/examples' dcgan).
        with torch.set_grad_enabled(g_steps):
            fake = self.generate(z, labels)
        self.adversarial_step(real, fake, labels, opt_d, opt_g if g_steps else None)
        if g_steps:
            self.after_generator_step()

    def adversarial_step(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        labels: torch.Tensor | None,
        opt_d: Any,
        opt_g: Any | None,
    ) -> None:
        """One D step on `real` vs `fake` (detached), then, given `opt_g`, one step of whatever made `fake`
        (G in a GAN, the encoder in an AAE) towards D calling it real. Logs D's and G's losses."""
        self.toggle_optimizer(opt_d)
        real_out = self.discriminate(self.augment(real), labels)
        fake_out = self.discriminate(self.augment(fake.detach()), labels)
        real_target, fake_target = self._d_targets(real_out)
        d_loss = self.loss.d_loss(real_out, fake_out, real_target, fake_target)
        penalty = self.loss.penalty(lambda x: self.discriminate(x, labels), real, fake.detach())
        self._backward_and_step(opt_d, d_loss if penalty is None else d_loss + penalty, "train/d_loss")
        self.untoggle_optimizer(opt_d)

        with torch.no_grad():
            decision = self.loss.decision  # the output at which D calls an input real
            right = (real_out > decision).float().mean() + (fake_out < decision).float().mean()
            logged = {
                "train/d_loss": d_loss,
                "train/d_real": self.loss.belief(real_out).mean(),
                "train/d_fake": self.loss.belief(fake_out).mean(),
                "train/d_acc": right / 2,
            }
            if penalty is not None:
                logged["train/gradient_penalty"] = penalty
            self.log_dict(logged)
        self.log("d_loss", d_loss, prog_bar=True, logger=False)

        if opt_g is not None:
            self.toggle_optimizer(opt_g)
            if self.loss.g_step_needs_current_real:
                with torch.no_grad():
                    real_out = self.discriminate(self.augment(real), labels)
            g_loss = self.loss.g_loss(self.discriminate(self.augment(fake), labels), real_out.detach())
            self._backward_and_step(opt_g, g_loss, "train/g_loss")
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

    def _backward_and_step(self, optimizer: Any, loss: torch.Tensor, name: str) -> None:
        self.watch_loss(name, loss)
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

    def make_optimizer(self, params: Any, lr: float) -> torch.optim.Optimizer:
        hp = self.hparams
        if hp.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.Adam(params, lr=lr, betas=(float(hp.beta1), float(hp.beta2)))

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[D's, G's]; `lr_d`/`lr_g` where given, else `lr`."""
        hp = self.hparams
        return [
            self.make_optimizer(self.discriminator.parameters(), hp.lr_d or hp.lr),
            self.make_optimizer(self.generator.parameters(), hp.lr_g or hp.lr),
        ]
