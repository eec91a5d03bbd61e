"""The denoising autoencoder: it learns to denoise, generates from its fitted code prior, denoises folders."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from conftest import write_image
from PIL import Image
from torch.nn import functional as F

from ganlab.data import MnistMiniDataModule
from ganlab.evaluate import evaluate, load_generator
from ganlab.metrics.evaluation import real_subset
from ganlab.models import DAE
from ganlab.train import train
from ganlab.utils.errors import GanlabError

DAE_TINY = ("model=dae", "model.encoder.width=8", "model.latent_dim=16", "model.num_reconstructions=16")
NOT_IN_DAE = ("model.discriminator.width",)


@pytest.mark.slow
def test_learns_to_remove_the_noise(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DAE(
        latent_dim=32,
        encoder={"_target_": "ganlab.nets.DCGANEncoder", "width": 16},
        generator={"_target_": "ganlab.nets.DCGANGenerator", "width": 16},
        noise_factor=0.25,
    )
    data = MnistMiniDataModule(cache_dir=tmp_path, batch_size=32)
    L.Trainer(accelerator="cpu", max_epochs=4, logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False).fit(model, data)  # fmt: skip
    clean = torch.from_numpy(np.asarray(data.real_images()[::50])).float() / 127.5 - 1
    model.eval()
    noisy = model.add_noise(clean, torch.Generator().manual_seed(1))
    assert ((noisy - clean) ** 2).mean() > 0.1  # std 0.5 on [-1, 1] (0.25 of the pixel range), clipped
    with torch.no_grad():
        denoised = model.denoise(noisy)
    assert ((denoised - clean) ** 2).mean() < ((noisy - clean) ** 2).mean() / 2
    # the sampling prior is the gaussian of the last epoch's codes
    with torch.no_grad():
        codes = model.encoder(model.add_noise(clean))
    assert torch.allclose(model.code_std.mean(), codes.std(0).mean(), rtol=0.3)


def test_train_grids_evaluate_and_denoise_a_folder(
    make_cfg, make_eval_cfg, classifier_file: Path, tmp_path: Path
) -> None:
    train(make_cfg(*DAE_TINY, run_dir=tmp_path / "dae", drop=NOT_IN_DAE))
    samples = tmp_path / "dae" / "samples"
    assert sorted(p.name for p in samples.iterdir()) == ["denoising_epoch_000.png", "samples_epoch_000.png"]
    grid = Image.open(samples / "denoising_epoch_000.png")
    assert grid.size == (8 * 30 + 2, 6 * 30 + 2)  # 16 images: noisy, denoised and clean rows, twice
    ckpt = tmp_path / "dae" / "checkpoints" / "last.ckpt"
    cfg = make_eval_cfg(
        f"ckpt_path={ckpt}", "metrics=domain", f"metrics.classifier={classifier_file}",
        "metrics.num_samples=32", "metrics.batch_size=16", "metrics.is_splits=2", "metrics.kid_subsets=2",
    )  # fmt: skip
    results = evaluate(cfg)
    assert results["source"]["model"] == "ganlab.models.DAE" and results["fid"]["n_fake"] == 32
    # Denoising error of the 32 scored real images under seeded training noise, and the noisy input's own
    # error beside it, recomputed here batch by batch.
    model, _ = load_generator(cfg)
    model.eval()
    real = MnistMiniDataModule(cache_dir=tmp_path / "cache").real_images()
    index = real_subset(len(real), 32, cfg.metrics.seed)
    noise = torch.Generator().manual_seed(cfg.metrics.seed)
    errors = {"mse": 0.0, "noisy_input_mse": 0.0}
    for part in (index[:16], index[16:]):
        clean = torch.from_numpy(real[part]).float() / 127.5 - 1
        noisy = model.add_noise(clean, noise)
        with torch.no_grad():
            errors["mse"] += F.mse_loss(model.denoise(noisy), clean).item() / 2
        errors["noisy_input_mse"] += F.mse_loss(noisy, clean).item() / 2
    for key, value in errors.items():
        assert results["reconstruction"][key] == pytest.approx(value, rel=1e-4)

    for name in ("a.png", "sub/b.jpg"):
        write_image(tmp_path / "noisy" / name, np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8))
    out = evaluate(make_eval_cfg(
        f"ckpt_path={ckpt}", "task=denoise", f"input_dir={tmp_path / 'noisy'}", run_dir=tmp_path / "den"
    ))  # fmt: skip
    assert sorted(Path(f).relative_to(tmp_path / "den" / "denoised").as_posix() for f in out["files"]) == [
        "a.png", "sub/b.png",
    ]  # fmt: skip
    assert Image.open(out["files"][0]).size == (28, 28)
    with pytest.raises(GanlabError, match="task=denoise needs input_dir"):
        evaluate(make_eval_cfg(f"ckpt_path={ckpt}", "task=denoise"))
