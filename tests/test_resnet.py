"""The second architecture family: SNGAN-style ResNet G and D at 32, 64 and 128 px, with every loss, with
class conditioning (concat and projection), EMA and DiffAugment, and as the AAE's decoder and encoder."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from conftest import BUDGET, run_command, write_image
from test_sweeps import readme_commands
from torch import nn

from ganlab.data import ImageFolderDataModule
from ganlab.models import AAE, CGAN, GAN
from ganlab.nets import ResNetDiscriminator, ResNetEncoder, ResNetGenerator

RESNET = {
    "generator": {"_target_": "ganlab.nets.ResNetGenerator", "width": 4},
    "discriminator": {"_target_": "ganlab.nets.ResNetDiscriminator", "width": 4},
}


@pytest.fixture(scope="module")
def two_class_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight RGB images in two class folders, 128 px (resized to each test's resolution)."""
    root = tmp_path_factory.mktemp("two_classes")
    rng = np.random.default_rng(0)
    for i in range(8):
        write_image(root / f"class{i % 2}" / f"{i}.png", rng.integers(0, 256, (128, 128, 3), dtype=np.uint8))
    return root


def fit(model: L.LightningModule, root: Path, size: int, tmp_path: Path) -> L.Trainer:
    data = ImageFolderDataModule(
        root=root, image_size=size, channels=3, batch_size=4, labels=True, num_classes=2,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=1, limit_train_batches=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    return trainer


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_and_spectral_norm_at_each_resolution(size: int) -> None:
    g, d = ResNetGenerator(16, 3, size, width=4), ResNetDiscriminator(3, size, width=4)
    images = g(torch.randn(2, 16))
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert d(images).shape == (2,)
    d.eval()  # in training mode each forward runs one spectral-norm power iteration
    torch.testing.assert_close(d.logit(d.features(images)), d(images))  # what projection relies on
    layers = [m for m in d.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert layers and all("weight" in m.parametrizations for m in layers)  # spectral norm everywhere in D
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())  # gradient penalties may run on it
    blocks = [m for m in g.modules() if type(m).__name__ == "UpBlock"]
    assert len(blocks) == {32: 3, 64: 4, 128: 5}[size]  # one up-block per doubling from 4x4
    assert ResNetEncoder(8, 3, size, width=4)(images).shape == (2, 8)


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("loss", ["ns", "hinge", "lsgan", "wgan_gp", "relativistic"])
def test_trains_with_every_loss(size: int, loss: str, two_class_folder: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = GAN(**RESNET, image_size=size, channels=3, latent_dim=16, loss=loss, num_fixed_samples=4)
    before = [p.detach().clone() for p in model.generator.parameters()]
    metrics = fit(model, two_class_folder, size, tmp_path).callback_metrics
    assert torch.isfinite(metrics["train/d_loss"]) and torch.isfinite(metrics["train/g_loss"])
    assert ("train/gradient_penalty" in metrics) == (loss == "wgan_gp")
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters(), strict=True))


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_trains_class_conditioned(
    size: int, conditioning: str, two_class_folder: Path, tmp_path: Path
) -> None:
    """With EMA and DiffAugment on as well; the label reaches both networks' embeddings."""
    torch.manual_seed(0)
    model = CGAN(
        **RESNET, num_classes=2, embed_dim=4, conditioning=conditioning, image_size=size, channels=3,
        latent_dim=16, loss="hinge", ema_decay=0.9, augment=["translation", "cutout"], num_fixed_samples=4,
    )  # fmt: skip
    g_embed, d_embed = (n.embed.weight.detach().clone() for n in (model.generator, model.discriminator))
    fit(model, two_class_folder, size, tmp_path)
    assert not torch.equal(model.generator.embed.weight, g_embed)
    assert not torch.equal(model.discriminator.embed.weight, d_embed)
    assert model.ema.n_averaged.item() == 2
    images, per_row = model.eval().sample_grids()["fixed_noise"]
    assert images.shape == (2 * per_row, 3, size, size)  # one row per class


def test_the_aae_takes_resnet_decoder_and_encoder(two_class_folder: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = AAE(
        generator=RESNET["generator"], encoder={"_target_": "ganlab.nets.ResNetEncoder", "width": 4},
        discriminator={"_target_": "ganlab.nets.LatentDiscriminator", "hidden": 8}, image_size=32,
        channels=3, latent_dim=8, num_fixed_samples=4, num_reconstructions=4,
    )  # fmt: skip
    metrics = fit(model, two_class_folder, 32, tmp_path).callback_metrics
    assert torch.isfinite(metrics["train/recon_loss"])
    assert model.reconstruct(torch.zeros(2, 3, 32, 32)).shape == (2, 3, 32, 32)


COMPONENT_COMMANDS = (
    "python train.py model=sngan",
    "python train.py model=cgan model/generator=resnet model/discriminator=resnet",
    "python train.py model/loss=relativistic",
    "python train.py model/loss=hinge model.discriminator.spectral_norm=true model.discriminator.norm=none "
    "model.ema_decay=0.999",
    "python train.py model/loss=wgan_gp model.discriminator.norm=layer model.n_critic=5 model.beta1=0 "
    "model.beta2=0.9",
)


@pytest.mark.parametrize("command", COMPONENT_COMMANDS)
def test_readme_component_and_loss_commands_as_typed(command: str, project: Path) -> None:
    assert command in readme_commands()
    result = run_command(command, project, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (project / "outputs" / "train" / "runs").iterdir()
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    model = checkpoint["ganlab_config"]["model"]
    if "resnet" in command or "sngan" in command:
        assert model["generator"]["_target_"] == "ganlab.nets.ResNetGenerator"
        assert model["discriminator"]["_target_"] == "ganlab.nets.ResNetDiscriminator"
    if command == "python train.py model=sngan":  # the digits' SNGAN recipe (docs/architectures.md), said
        assert (model["generator"]["width"], model["discriminator"]["width"], model["lr"]) == (32, 32, 1e-3)
        assert "conf/data_model/mnist_mini_sngan.yaml sets model.generator.width=32" in result.stdout
    expected_loss = {
        "sngan": "HingeLoss", "hinge": "HingeLoss", "wgan_gp": "WassersteinGPLoss",
        "relativistic": "RelativisticAverageLoss",
    }  # fmt: skip
    for word, loss in expected_loss.items():
        if word in command:
            assert model["loss"]["_target_"] == f"ganlab.models.losses.{loss}"
    assert (run / "samples" / "fixed_noise_epoch_000.png").is_file()

