"""Adversarial losses, the WGAN-GP penalty, spectral norm and the EMA of G, on hand computations and a
real Trainer."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
from test_model import TINY_MODEL, fit

from ganlab.models import GAN
from ganlab.models.losses import build_loss, loss_by_name
from ganlab.nets.dcgan import DCGANDiscriminator
from ganlab.utils.errors import GanlabError

REAL = torch.tensor([2.0, 0.5])
FAKE = torch.tensor([-2.0, 0.0])
ONES, ZEROS = torch.ones(2), torch.zeros(2)


def test_losses_on_known_outputs() -> None:
    ns = loss_by_name("ns")
    assert ns.d_loss(ZEROS, ZEROS, ONES, ZEROS).item() == pytest.approx(2 * math.log(2))
    assert ns.g_loss(ZEROS, REAL).item() == pytest.approx(math.log(2))
    hinge = loss_by_name("hinge")  # mean(relu(1 - real)) + mean(relu(1 + fake)) = 0.25 + 0.5
    assert hinge.d_loss(REAL, FAKE, ONES, ZEROS).item() == pytest.approx(0.75)
    assert hinge.g_loss(FAKE, REAL).item() == pytest.approx(1.0)
    lsgan = loss_by_name("lsgan")  # 0.5 mean((real - 1)^2) + 0.5 mean(fake^2)
    assert lsgan.d_loss(REAL, FAKE, ONES, ZEROS).item() == pytest.approx(0.5 * 0.625 + 0.5 * 2.0)
    assert lsgan.d_loss(REAL, FAKE, ONES * 0.9, ZEROS).item() == pytest.approx(0.5 * 0.685 + 0.5 * 2.0)
    assert lsgan.g_loss(FAKE, REAL).item() == pytest.approx(0.5 * (9 + 1) / 2)
    wgan = loss_by_name("wgan_gp")
    assert wgan.d_loss(REAL, FAKE, ONES, ZEROS).item() == pytest.approx(-1.0 - 1.25)
    assert wgan.g_loss(FAKE, REAL).item() == pytest.approx(1.0)


def test_relativistic_average_loss_matches_its_formula() -> None:
    """Jolicoeur-Martineau 2019, eq. (RaSGAN), written out with sigmoids on fixed logits:
    L_D = -E_r log s(C_r - E C_f) - E_f log(1 - s(C_f - E C_r)), L_G the same with real and fake swapped."""

    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    real, fake = [2.0, 0.5], [-2.0, 0.0]
    mean_real, mean_fake = sum(real) / 2, sum(fake) / 2
    d = -sum(math.log(sigmoid(r - mean_fake)) for r in real) / 2
    d -= sum(math.log(1 - sigmoid(f - mean_real)) for f in fake) / 2
    g = -sum(math.log(sigmoid(f - mean_real)) for f in fake) / 2
    g -= sum(math.log(1 - sigmoid(r - mean_fake)) for r in real) / 2
    loss = loss_by_name("relativistic")
    assert loss.d_loss(REAL, FAKE, ONES, ZEROS).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(g, rel=1e-6)
    assert loss.g_step_needs_current_real  # its G step sees the updated D's outputs on real images


def test_gradient_penalty_against_a_hand_computation() -> None:
    torch.manual_seed(0)
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    loss = build_loss({"_target_": "ganlab.models.losses.WassersteinGPLoss", "gp_weight": 10.0})

    def critic(x: torch.Tensor) -> torch.Tensor:  # D(x) = sum of squares: grad = 2x
        return (x**2).flatten(1).sum(1)

    torch.manual_seed(5)
    got = loss.penalty(critic, real, fake)
    torch.manual_seed(5)
    eps = torch.rand(3, 1, 1, 1)  # the same draw the penalty makes
    mixed = eps * real + (1 - eps) * fake
    norms = [math.sqrt(sum((2 * v) ** 2 for v in image.flatten().tolist())) for image in mixed]
    assert got.item() == pytest.approx(10.0 * sum((n - 1) ** 2 for n in norms) / 3, rel=1e-5)

    w = torch.tensor([3.0, 0.0, 4.0, 0.0])  # a linear critic: |grad| = |w| = 5 everywhere
    assert loss.penalty(lambda x: x.flatten(1) @ w, real, fake).item() == pytest.approx(10.0 * 16)


@pytest.mark.parametrize("loss", ["ns", "hinge", "lsgan", "wgan_gp", "relativistic"])
def test_every_loss_trains_on_a_real_trainer(loss: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    options: dict = {}
    if loss == "wgan_gp":
        critic = {**TINY_MODEL["discriminator"], "norm": "layer"}
        options = {"discriminator": critic, "n_critic": 2}
    trainer = fit(GAN(**{**TINY_MODEL, **options}, loss=loss), tmp_path, batches=4)
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/d_loss"]) and torch.isfinite(metrics["train/g_loss"])
    assert ("train/gradient_penalty" in metrics) == (loss == "wgan_gp")


def test_gradient_penalty_refuses_batch_norm_in_d_when_built() -> None:
    message = r"WassersteinGPLoss penalises .*\(model\.discriminator\.norm=layer"
    with pytest.raises(GanlabError, match=message):
        GAN(**TINY_MODEL, loss="wgan_gp")


def test_spectral_norm_bounds_each_conv_to_unit_norm() -> None:
    torch.manual_seed(0)
    d = DCGANDiscriminator(1, 28, 8, spectral_norm=True, norm="none")
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 and all(hasattr(c, "parametrizations") for c in convs)
    for _ in range(30):  # each training-mode forward runs one power iteration
        d(torch.randn(4, 1, 28, 28))
    for conv in convs:
        assert torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2).item() == pytest.approx(1.0, abs=0.02)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())


class GeneratorAfterEachBatch(L.Callback):
    def __init__(self) -> None:
        self.weights: list[list[torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.weights.append([p.detach().clone() for p in pl_module.generator.parameters()])


def test_ema_arithmetic_start_and_use_for_sampling(tmp_path: Path) -> None:
    torch.manual_seed(0)
    decay = 0.6
    model = GAN(**TINY_MODEL, ema_decay=decay, ema_start=4)
    seen = GeneratorAfterEachBatch()
    fit(model, tmp_path, batches=4, callbacks=[seen])
    # global_step is 2 per batch (D and G): averaging starts after batch 2's G step, as a copy of G
    g2, g3, g4 = seen.weights[1], seen.weights[2], seen.weights[3]
    expected = [
        decay * (decay * a + (1 - decay) * b) + (1 - decay) * c for a, b, c in zip(g2, g3, g4, strict=True)
    ]
    for got, want in zip(model.ema.module.parameters(), expected, strict=True):
        torch.testing.assert_close(got, want)
    assert model.ema.n_averaged.item() == 3
    z = torch.randn(4, TINY_MODEL["latent_dim"])
    model.eval()  # sampling (grids, metrics, evaluate) runs in eval mode: the EMA generator
    torch.testing.assert_close(model.generate(z), model.ema.module(z))
    assert not torch.allclose(model.generate(z), model.generator(z))
    model.train()  # training runs G itself
    assert model.sampling_generator is model.generator


def test_ema_rampup_follows_g_early(tmp_path: Path) -> None:
    """With `ema_rampup`, the average spans at most rampup x its updates: early grids show G's recent weights,
    not its initial ones (the default run's first epochs were grey with a plain 0.999 average)."""
    torch.manual_seed(0)
    model = GAN(**TINY_MODEL, ema_decay=0.999, ema_start=4, ema_rampup=1.0)
    seen = GeneratorAfterEachBatch()
    fit(model, tmp_path, batches=4, callbacks=[seen])
    # updates after the copy (batch 2): decay min(0.999, 1 - 1/1) = 0, then min(0.999, 1 - 1/2) = 0.5
    g3, g4 = seen.weights[2], seen.weights[3]
    for got, a, b in zip(model.ema.module.parameters(), g3, g4, strict=True):
        torch.testing.assert_close(got, 0.5 * a + 0.5 * b)
