"""The GAN training step on a real Trainer: alternation, n_critic, clipping, labels, fixed noise."""

from __future__ import annotations

import itertools
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import TINY_NETS

from ganlab.data import MnistMiniDataModule
from ganlab.models import GAN
from ganlab.utils.errors import GanlabError
from ganlab.utils.settings import check_settings

TINY_MODEL = {
    "image_size": 28,
    "channels": 1,
    "latent_dim": 16,
    **TINY_NETS,
    "num_fixed_samples": 8,
}


class StepRecorder(L.Callback):
    """Before each optimizer step: which optimizer, copies of all weights, which networks have gradients."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.records.append(
            {
                "opt": trainer.optimizers.index(optimizer),
                "g": [p.detach().clone() for p in pl_module.generator.parameters()],
                "d": [p.detach().clone() for p in pl_module.discriminator.parameters()],
                "g_grad": any(p.grad is not None for p in pl_module.generator.parameters()),
                "d_grad": any(p.grad is not None for p in pl_module.discriminator.parameters()),
                "d_grad_max": max(
                    p.grad.abs().max().item()
                    for p in pl_module.discriminator.parameters()
                    if p.grad is not None
                )
                if optimizer is trainer.optimizers[0]
                else None,
            }
        )


def fit(model: GAN, tmp_path: Path, batches: int = 3, callbacks: list | None = None) -> L.Trainer:
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=batches,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks or [],
    )
    trainer.fit(model, MnistMiniDataModule(cache_dir=tmp_path, batch_size=8))
    return trainer


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_d_and_g_steps_alternate_and_touch_only_their_own_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    recorder = StepRecorder()
    trainer = fit(GAN(**TINY_MODEL), tmp_path, batches=3, callbacks=[recorder])
    records = recorder.records
    assert [r["opt"] for r in records] == [0, 1, 0, 1, 0, 1]  # D then G, every batch
    assert trainer.global_step == 6  # global_step counts both optimizers' steps
    for r in records:  # the toggled optimizer's network alone has gradients
        assert (r["d_grad"], r["g_grad"]) == ((True, False) if r["opt"] == 0 else (False, True))
    for before, after in itertools.pairwise(records):
        # between two records lies exactly the step of `before`'s optimizer
        if before["opt"] == 0:  # a D step changed D and left G as it was
            assert same(before["g"], after["g"]) and not same(before["d"], after["d"])
        else:  # a G step changed G and left D as it was
            assert same(before["d"], after["d"]) and not same(before["g"], after["g"])


def test_n_critic_gives_several_d_steps_per_g_step(tmp_path: Path) -> None:
    recorder = StepRecorder()
    fit(GAN(**TINY_MODEL, n_critic=3), tmp_path, batches=6, callbacks=[recorder])
    assert [r["opt"] for r in recorder.records] == [0, 0, 0, 1, 0, 0, 0, 1]


@pytest.mark.parametrize("algorithm", ["value", "norm"])
def test_gradient_clipping_happens_in_the_module(tmp_path: Path, algorithm: str) -> None:
    recorder = StepRecorder()
    model = GAN(**TINY_MODEL, grad_clip_val=1e-4, grad_clip_algorithm=algorithm)
    fit(model, tmp_path, batches=2, callbacks=[recorder])
    d_records = [r for r in recorder.records if r["opt"] == 0]
    assert all(r["d_grad_max"] <= 1e-4 + 1e-9 for r in d_records)


def test_unclipped_gradients_are_larger_than_the_clip(tmp_path: Path) -> None:
    """Guards the clipping test: without clipping the same gradients exceed 1e-4."""
    recorder = StepRecorder()
    fit(GAN(**TINY_MODEL), tmp_path, batches=1, callbacks=[recorder])
    assert recorder.records[0]["d_grad_max"] > 1e-3


def test_label_smoothing_and_noise_targets() -> None:
    torch.manual_seed(0)
    logits = torch.zeros(10000)
    real, fake = GAN(**TINY_MODEL, label_smoothing=0.1)._d_targets(logits)
    assert torch.all(real == 0.9) and torch.all(fake == 0)
    real, fake = GAN(**TINY_MODEL, label_smoothing=0.1, label_noise=0.2)._d_targets(logits)
    assert real.min() >= 0.7 and real.max() <= 0.9 and abs(real.mean().item() - 0.8) < 0.01
    assert fake.min() >= 0 and fake.max() <= 0.2 and abs(fake.mean().item() - 0.1) < 0.01


def test_rmsprop_and_separate_learning_rates() -> None:
    model = GAN(**TINY_MODEL, optimizer="rmsprop", lr_d=8e-4, lr_g=4e-4)
    opt_d, opt_g = model.configure_optimizers()
    assert isinstance(opt_d, torch.optim.RMSprop) and opt_d.param_groups[0]["lr"] == 8e-4
    assert opt_g.param_groups[0]["lr"] == 4e-4
    opt_d, opt_g = GAN(**TINY_MODEL, lr=1e-4, beta1=0.3, beta2=0.9).configure_optimizers()
    assert isinstance(opt_g, torch.optim.Adam) and opt_g.param_groups[0]["betas"] == (0.3, 0.9)
    assert opt_d.param_groups[0]["lr"] == opt_g.param_groups[0]["lr"] == 1e-4


def test_latent_priors() -> None:
    uniform = GAN(**TINY_MODEL, latent_prior="uniform").sample_latent(10000)
    assert uniform.min() >= -1 and uniform.max() <= 1 and abs(uniform.std().item() - 3**-0.5) < 0.01
    normal = GAN(**TINY_MODEL).sample_latent(10000)
    assert abs(normal.std().item() - 1) < 0.01 and normal.abs().max() > 3


def test_fixed_noise_is_independent_of_the_global_seed_and_saved() -> None:
    torch.manual_seed(1)
    a = GAN(**TINY_MODEL)
    torch.manual_seed(2)
    b = GAN(**TINY_MODEL)
    assert torch.equal(a.fixed_z, b.fixed_z) and a.fixed_z.shape == (8, 16)
    assert "fixed_z" in a.state_dict()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.optimizer=sgd", "model.optimizer='sgd' is not known: use adam, rmsprop"),
        ("model.latent_prior=cauchy", "model.latent_prior='cauchy' is not known: use normal, uniform"),
        ("model.generator.upsample=bicubic", "model.generator.upsample='bicubic' is not known"),
        ("model.discriminator.norm=group", "model.discriminator.norm='group' is not known: use batch"),
        ("model.n_critic=0", "model.n_critic=0 is out of range"),
        ("model.ema_decay=0", "model.ema_decay=0 is out of range"),
        ("model.ema_decay=1.5", "model.ema_decay=1.5 is out of range"),
        ("model.label_smoothing=0.6", "model.label_smoothing=0.6 is out of range"),
        ("model.label_noise=0.3", "model.label_smoothing + model.label_noise = 0.5 must stay below 0.5"),
        ("data.image_size=0", "data.image_size=0 is out of range"),
        ("model.generator.width=0", "model.generator.width=0 is out of range"),
    ],
)
def test_bad_settings_are_named_by_the_one_table(override: str, message: str, make_cfg) -> None:
    """Every range and choice is refused by the settings check, before anything is built, under the
    setting's own name (data.image_size, not the model's copy of it)."""
    cfg = make_cfg("model.label_smoothing=0.2", override)
    with pytest.raises(GanlabError, match=message.replace("+", r"\+")):
        check_settings(cfg)
    check_settings(make_cfg("model.label_smoothing=0.2"))  # the same settings but the bad one pass


def test_diff_augment_shifts_and_cuts_out_and_lets_gradients_through() -> None:
    """DiffAugment: whole-pixel shifts of at most 1/8 of the side, a half-side square set to 0, per image,
    differentiable (G learns through what D sees)."""
    from ganlab.models.augment import diff_augment

    torch.manual_seed(0)
    images = torch.rand(64, 1, 16, 16) + 1  # no zeros of its own
    shifted = diff_augment(images, ("translation",))
    for original, moved in zip(images, shifted, strict=True):
        found = [
            (dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
            if torch.equal(moved[0, max(dy, 0) : 16 + min(dy, 0), max(dx, 0) : 16 + min(dx, 0)],
                           original[0, max(-dy, 0) : 16 + min(-dy, 0), max(-dx, 0) : 16 + min(-dx, 0)])
        ]  # fmt: skip
        assert found, "every image is its original shifted by at most 2 of 16 pixels"
    assert len({tuple(map(int, (m == 0).flatten().nonzero()[:1].flatten())) for m in shifted}) > 1
    cut = diff_augment(images, ("cutout",))
    zeros = (cut == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() > 0  # an 8x8 square, less where it leaves the image
    images.requires_grad_(True)
    diff_augment(images, ("translation", "cutout")).sum().backward()
    assert images.grad is not None and images.grad.sum() > 0
