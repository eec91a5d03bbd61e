"""The adversarial autoencoder: which networks each of its three steps moves, grids, evaluation."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import hydra
import lightning as L
import pytest
import torch
from PIL import Image
from test_model import fit
from torch.nn import functional as F

from ganlab.evaluate import evaluate, load_generator
from ganlab.metrics.evaluation import real_subset
from ganlab.models import AAE
from ganlab.train import train

TINY_AAE = {
    "image_size": 28, "channels": 1, "latent_dim": 4, "num_fixed_samples": 8, "num_reconstructions": 16,
    "generator": {"_target_": "ganlab.nets.DCGANGenerator", "width": 8},
    "encoder": {"_target_": "ganlab.nets.DCGANEncoder", "width": 8},
    "discriminator": {"_target_": "ganlab.nets.LatentDiscriminator", "hidden": 16},
}  # fmt: skip


class Snapshots(L.Callback):
    """Before each optimizer step: which optimizer, and copies of the encoder, decoder and D weights."""

    def __init__(self) -> None:
        self.records: list[tuple[int, dict[str, list[torch.Tensor]]]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        nets = {"encoder": pl_module.encoder, "decoder": pl_module.generator, "d": pl_module.discriminator}
        weights = {k: [p.detach().clone() for p in net.parameters()] for k, net in nets.items()}
        self.records.append((trainer.optimizers.index(optimizer), weights))


def test_reconstruction_then_regularisation_steps(tmp_path: Path) -> None:
    torch.manual_seed(0)
    seen = Snapshots()
    fit(AAE(**TINY_AAE), tmp_path, batches=2, callbacks=[seen])
    # per batch: reconstruction (optimizer 2), D on codes vs prior (0), the encoder as generator (1)
    assert [opt for opt, _ in seen.records] == [2, 0, 1, 2, 0, 1]
    moves = {2: {"encoder", "decoder"}, 0: {"d"}, 1: {"encoder"}}
    for (opt, before), (_, after) in itertools.pairwise(seen.records):
        changed = {
            k for k in before if not all(torch.equal(a, b) for a, b in zip(before[k], after[k], strict=True))
        }
        assert changed == moves[opt], opt


@pytest.mark.slow
def test_train_grids_and_evaluate(make_cfg, make_eval_cfg, classifier_file: Path, tmp_path: Path) -> None:
    overrides = ["model=aae", "model.encoder.width=8", "model.num_reconstructions=16"]
    train(make_cfg(*overrides, run_dir=tmp_path / "aae", drop=("model.discriminator.width",)))
    samples = tmp_path / "aae" / "samples"
    assert sorted(p.name for p in samples.iterdir()) == [
        "fixed_noise_epoch_000.png", "reconstructions_epoch_000.png",
    ]  # fmt: skip
    assert Image.open(samples / "reconstructions_epoch_000.png").size == (
        8 * 30 + 2,
        4 * 30 + 2,
    )  # 2 pairs of rows
    cfg = make_eval_cfg(
        f"ckpt_path={tmp_path / 'aae' / 'checkpoints' / 'last.ckpt'}", "metrics=domain",
        f"metrics.classifier={classifier_file}", "metrics.num_samples=32", "metrics.batch_size=16",
        "metrics.is_splits=2", "metrics.kid_subsets=2",
    )  # fmt: skip
    results = evaluate(cfg)
    assert results["source"]["model"] == "ganlab.models.AAE" and results["fid"]["value"] > 0
    # The reconstruction error of the 32 scored real images, recomputed here in one batch.
    model, _ = load_generator(cfg)
    real = hydra.utils.instantiate(cfg.data).real_images()
    clean = torch.from_numpy(real[real_subset(len(real), 32, cfg.metrics.seed)]).float() / 127.5 - 1
    with torch.no_grad():
        expected = F.mse_loss(model.eval().reconstruct(clean), clean).item()
    reconstruction = results["reconstruction"]
    assert reconstruction["mse"] == pytest.approx(expected, rel=1e-4) and reconstruction["n"] == 32
    assert reconstruction["psnr_db"] == pytest.approx(10 * math.log10(4 / expected), rel=1e-4)
