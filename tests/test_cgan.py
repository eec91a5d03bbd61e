"""The conditional GAN: label-conditioned networks, step alternation, one grid row per class, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from conftest import write_image
from PIL import Image
from test_model import TINY_MODEL, StepRecorder, fit

from ganlab.data import ImageFolderDataModule
from ganlab.evaluate import evaluate, load_generator
from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.evaluation import to_uint8
from ganlab.models import CGAN
from ganlab.nets.classifier import DomainClassifier
from ganlab.train import train
from ganlab.utils.errors import GanlabError

TINY_CGAN = {**TINY_MODEL, "num_classes": 10, "num_fixed_samples": 16, "embed_dim": 4}


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_steps_move_the_embeddings_of_their_own_network(conditioning: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = CGAN(**TINY_CGAN, conditioning=conditioning)
    g_embed = model.generator.embed.weight.detach().clone()
    d_embed = model.discriminator.embed.weight.detach().clone()
    recorder = StepRecorder()
    fit(model, tmp_path, batches=2, callbacks=[recorder])
    assert [r["opt"] for r in recorder.records] == [0, 1, 0, 1]
    for r in recorder.records:
        assert (r["d_grad"], r["g_grad"]) == ((True, False) if r["opt"] == 0 else (False, True))
    assert not torch.equal(model.generator.embed.weight, g_embed)  # the label reaches G ...
    assert not torch.equal(model.discriminator.embed.weight, d_embed)  # ... and D


def test_the_label_changes_the_image_and_the_logit() -> None:
    torch.manual_seed(0)
    model = CGAN(**TINY_CGAN).eval()
    z = torch.randn(1, TINY_CGAN["latent_dim"]).repeat(2, 1)
    images = model.generate(z, torch.tensor([3, 7]))
    assert not torch.allclose(images[0], images[1])
    same_image = images[:1].repeat(2, 1, 1, 1)
    logits = model.discriminate(same_image, torch.tensor([3, 7]))
    assert logits[0] != logits[1]


def test_grid_has_one_row_per_class_with_shared_noise_per_column() -> None:
    model = CGAN(**TINY_CGAN).eval()
    images, per_row = model.sample_grids()["fixed_noise"]
    assert images.shape == (100, 1, 28, 28) and per_row == 10
    expected = model.generate(model.fixed_z[:10], torch.full((10,), 4))
    torch.testing.assert_close(images[40:50], expected)  # row 4: class 4, columns = the fixed noise


def test_needs_classes_and_labelled_images(tmp_path: Path) -> None:
    with pytest.raises(GanlabError, match="model=cgan needs the number of classes"):
        CGAN(**{**TINY_CGAN, "num_classes": None})
    for i in range(8):
        write_image(
            tmp_path / "faces" / f"{i}.png", torch.randint(0, 255, (28, 28), dtype=torch.uint8).numpy()
        )
    data = ImageFolderDataModule(root=tmp_path / "faces", image_size=28, channels=1, batch_size=4,
                                 cache_dir=tmp_path / "cache")  # fmt: skip
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    with pytest.raises(GanlabError, match="model=cgan needs labelled images"):
        trainer.fit(CGAN(**TINY_CGAN), data)


@pytest.mark.slow
def test_train_and_evaluate_a_cgan(make_cfg, make_eval_cfg, classifier_file: Path, tmp_path: Path) -> None:
    train(make_cfg("model=cgan", "model.embed_dim=4", run_dir=tmp_path / "cgan"))
    grid = Image.open(tmp_path / "cgan" / "samples" / "fixed_noise_epoch_000.png")
    assert grid.size == (10 * 30 + 2, 10 * 30 + 2)  # 10 classes x 10 samples of 28 px
    cfg = make_eval_cfg(
        f"ckpt_path={tmp_path / 'cgan' / 'checkpoints' / 'last.ckpt'}", "metrics=domain",
        f"metrics.classifier={classifier_file}", f"conditional.classifier={classifier_file}",
        "metrics.num_samples=60", "metrics.batch_size=20", "metrics.is_splits=2", "metrics.kid_subsets=2",
    )  # fmt: skip
    results = evaluate(cfg)
    assert results["source"]["model"] == "ganlab.models.CGAN" and results["fid"]["n_fake"] == 60

    # Per class: 6 samples of each digit, scored against that digit's real images, and checked by the
    # classifier; the accuracy is recomputed here from the generator and the classifier themselves.
    conditional = json.loads((tmp_path / "eval" / "metrics.json").read_text())["conditional"]
    assert conditional["samples_per_class"] == 6
    assert list(conditional["classes"]) == [str(c) for c in range(10)]
    model, _ = load_generator(cfg)
    judge = DomainFeatures(classifier_file)
    hits = []
    for c, scores in enumerate(conditional["classes"].values()):
        z = model.sample_latent(6, generator=torch.Generator().manual_seed(cfg.metrics.seed))
        with torch.no_grad():
            images = to_uint8(model.eval().generate(z, torch.full((6,), c)))
        hits.append(int((judge(images)["logits"].argmax(1) == c).sum()))
        assert scores["accuracy"] == hits[-1] / 6 and scores["n_fake"] == 6 and scores["fid"] > 0
    assert conditional["class_accuracy"] == sum(hits) / 60
    fids = [scores["fid"] for scores in conditional["classes"].values()]
    assert conditional["intra_fid"] == pytest.approx(np.mean(fids))
    assert conditional["classifier"]["weights_file"] == str(classifier_file)

    # A classifier of another label set is refused rather than scoring against the wrong classes.
    other = tmp_path / "five-classes.pt"
    five = DomainClassifier(num_classes=5)
    torch.save({"hparams": {"num_classes": 5}, "state_dict": five.state_dict()}, other)
    with pytest.raises(GanlabError, match="tells 5 classes and the model generates 10"):
        evaluate(make_eval_cfg(
            f"ckpt_path={tmp_path / 'cgan' / 'checkpoints' / 'last.ckpt'}", f"conditional.classifier={other}",
            "metrics=domain", f"metrics.classifier={classifier_file}", "metrics.num_samples=20",
        ))  # fmt: skip
