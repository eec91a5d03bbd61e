"""`evaluate.py task=sample` and `task=export`: the pixels evaluate scores, seeds standing alone, class rows,
truncation; TorchScript and ONNX files that make the checkpoint's images, which torch-fidelity scores as
evaluate.py does; one line for each bad setting; docs/evaluate.md's commands as typed."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
import torch_fidelity
from conftest import run_command, write_image
from PIL import Image
from test_disk import small_disk  # noqa: F401 (a fixture)
from test_faults import error_lines
from test_metrics import image_folder
from test_sweeps import readme_commands
from torch_fidelity.generative_model_modulewrapper import GenerativeModelModuleWrapper
from torch_fidelity.generative_model_onnx import GenerativeModelONNX
from torch_fidelity.registry import register_noise_source

from ganlab.evaluate import evaluate, load_generator
from ganlab.metrics.evaluation import real_subset
from ganlab.train import train
from ganlab.utils.errors import GanlabError
from ganlab.utils.images import to_uint8


def vivid(checkpoint: Path) -> Path:
    """After 3 batches a tiny G still draws about one grey image for every latent, and its EMA is G; first and
    last layers 30 (EMA: 20) times larger make the latents show and the EMA differ, as after a long run (a
    checkpoint as train.py writes it, with other weights)."""
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    for prefix, factor in (("generator.", 30), ("ema.module.", 20)):
        layers = [k for k, v in saved["state_dict"].items() if k.startswith(prefix) and v.dim() >= 2]
        for key in {layers[0], layers[-1]} if layers else ():
            saved["state_dict"][key] *= factor
    torch.save(saved, checkpoint)
    return checkpoint


@pytest.fixture
def gan(make_cfg, tmp_path: Path) -> Path:
    """A tiny DCGAN (with the default run's EMA) trained for 3 batches on the embedded digits."""
    train(make_cfg(run_dir=tmp_path / "gan"))
    return vivid(tmp_path / "gan" / "checkpoints" / "last.ckpt")


@pytest.fixture
def cgan(make_cfg, tmp_path: Path) -> Path:
    train(make_cfg("model=cgan", "model.embed_dim=4", run_dir=tmp_path / "cgan"))
    return vivid(tmp_path / "cgan" / "checkpoints" / "last.ckpt")


def pngs(folder: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))])


def sampled(make_eval_cfg, checkpoint: Path, run_dir: Path, *settings: str) -> np.ndarray:
    """`task=sample` as NHWC uint8 (through its .npz), and its card."""
    card = evaluate(make_eval_cfg(f"ckpt_path={checkpoint}", "task=sample", "sample.format=npz", *settings,
                                  run_dir=run_dir))  # fmt: skip
    assert json.loads((run_dir / "samples.json").read_text()) == card
    return np.load(run_dir / "samples.npz")["arr_0"]


def test_sample_n_is_the_pixels_evaluate_scores(
    make_eval_cfg, gan: Path, classifier_file: Path, tmp_path
) -> None:
    scored = ["metrics=domain", f"metrics.classifier={classifier_file}", "metrics.num_samples=20",
              "metrics.batch_size=8", "metrics.is_splits=2", "metrics.kid_subsets=2",
              "metrics.seed=3"]  # fmt: skip
    evaluate(make_eval_cfg(f"ckpt_path={gan}", "save_images=true", *scored, run_dir=tmp_path / "scored"))
    cfg = make_eval_cfg(f"ckpt_path={gan}", "task=sample", "sample.n=20", "sample.seed=3",
                        "metrics.batch_size=8",
                        run_dir=tmp_path / "sampled")  # fmt: skip
    card = evaluate(cfg)
    assert card["count"] == 20 and card["generator"] == "ema"  # the default run keeps an EMA of G
    expected = pngs(tmp_path / "scored" / "images")
    assert np.array_equal(pngs(tmp_path / "sampled" / "samples"), expected)
    npz = sampled(
        make_eval_cfg, gan, tmp_path / "npz", "sample.n=20", "sample.seed=3", "metrics.batch_size=8"
    )
    assert npz.dtype == np.uint8 and np.array_equal(npz[..., 0], expected)
    evaluate(make_eval_cfg(f"ckpt_path={gan}", "task=sample", "sample.n=20", "sample.format=grid",
                           run_dir=tmp_path / "grid"))  # fmt: skip
    assert Image.open(tmp_path / "grid" / "samples.png").size == (5 * 30 + 2, 4 * 30 + 2)  # 20: 5 a row


def test_a_seeds_image_is_its_own_and_ema_is_a_choice(make_eval_cfg, gan: Path, tmp_path: Path) -> None:
    three = sampled(make_eval_cfg, gan, tmp_path / "a", "sample.seeds=[3,1,2]")
    again = sampled(make_eval_cfg, gan, tmp_path / "b", "sample.seeds=[3,1,2]")
    alone = sampled(make_eval_cfg, gan, tmp_path / "c", "sample.seeds=[1]")
    assert three.shape[0] == 3 and np.array_equal(three, again) and np.array_equal(three[1:2], alone)
    assert not np.array_equal(three[0], three[1])
    raw = sampled(make_eval_cfg, gan, tmp_path / "d", "sample.seeds=[3,1,2]", "sample.ema=false")
    assert not np.array_equal(raw, three)
    assert json.loads((tmp_path / "d" / "samples.json").read_text())["generator"] == "generator"


def test_truncation_keeps_latents_inside_and_narrows_the_samples(make_eval_cfg, gan: Path, tmp_path) -> None:
    model, _ = load_generator(make_eval_cfg(f"ckpt_path={gan}"))
    latents = model.sample_latent(2000, torch.Generator().manual_seed(0), truncation=0.5)
    assert latents.abs().max() <= 0.5 and latents.std() > 0.25  # resampled, not clipped onto the bound
    assert torch.equal(latents, model.sample_latent(2000, torch.Generator().manual_seed(0), truncation=0.5))
    free = sampled(make_eval_cfg, gan, tmp_path / "free", "sample.n=64").astype(np.float32)
    narrow = sampled(make_eval_cfg, gan, tmp_path / "narrow", "sample.n=64", "sample.truncation=0.2")
    assert narrow.astype(np.float32).std(0).mean() < 0.8 * free.std(0).mean()


def test_class_rows_are_the_classes_asked_for(make_eval_cfg, cgan: Path, tmp_path: Path) -> None:
    images = sampled(make_eval_cfg, cgan, tmp_path / "s", "sample.seeds=[0,1,2]", "sample.classes=[2,7]")
    assert images.shape[0] == 6
    model, _ = load_generator(make_eval_cfg(f"ckpt_path={cgan}"))
    z = torch.cat([model.sample_latent(1, torch.Generator().manual_seed(s)) for s in (0, 1, 2)])
    for row, label in enumerate((2, 7)):  # the conditional grid's rows: the same latents, one class each
        with torch.no_grad():
            expected = to_uint8(model.eval().generate(z, torch.full((3,), label)))
        assert np.array_equal(images[3 * row : 3 * row + 3], expected.permute(0, 2, 3, 1).numpy())
    assert not np.array_equal(images[:3], images[3:])


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (["sample.classes=[1]"], r"^sample\.classes=\[1\] needs a conditional model, and GAN is not one"),
        (
            ["sample.seeds=[1,a]"],
            r"^sample\.seeds=.* is not a list of whole numbers: pass e\.g\. sample\.seeds",
        ),
        (["sample.truncation=0"], r"^sample\.truncation=0 must be a number above 0"),
        (["sample.truncation=-1"], r"^sample\.truncation=-1 must be a number above 0"),
        (["sample.format=jpg"], r"^sample\.format='jpg' is not known: use png, grid, npz"),
        (["sample.n=0"], r"^sample\.n=0 is not a count"),
    ],
)
def test_bad_sample_settings_are_one_line(make_eval_cfg, gan: Path, settings: list[str], line: str) -> None:
    with pytest.raises(GanlabError, match=line):
        evaluate(make_eval_cfg(f"ckpt_path={gan}", "task=sample", *settings))


def test_a_class_the_model_lacks_is_one_line(make_eval_cfg, cgan: Path) -> None:
    with pytest.raises(GanlabError, match=r"^sample\.classes: \[10\] not among the model's classes 0\.\.9"):
        evaluate(make_eval_cfg(f"ckpt_path={cgan}", "task=sample", "sample.classes=[3,10]"))


def test_exports_make_the_checkpoints_images(make_eval_cfg, cgan: Path, tmp_path: Path) -> None:
    import onnxruntime

    model, _ = load_generator(make_eval_cfg(f"ckpt_path={cgan}"))
    noise, labels = torch.randn(5, model.sample_latent(1).shape[1]), torch.tensor([0, 3, 9, 3, 1])
    with torch.no_grad():
        expected = to_uint8(model.eval().generate(noise, labels))
    for format in ("torchscript", "onnx"):
        card = evaluate(make_eval_cfg(f"ckpt_path={cgan}", "task=export", f"export.format={format}",
                                      run_dir=tmp_path / format))  # fmt: skip
        assert json.loads((tmp_path / format / "generator.json").read_text()) == card
        assert card["inputs"] == {"noise": [None, noise.shape[1]], "labels": [None]} and card["classes"] == 10
        assert card["output"] == {"shape": [None, 1, 28, 28], "dtype": "uint8", "range": [0, 255]}
        assert card["generator"] == "generator" and len(card["source"]["config_sha256"]) == 64  # no EMA
        if format == "torchscript":
            got = torch.jit.load(card["file"])(noise, labels)
            assert torch.equal(got, expected)  # the same ops, the same pixels
        else:
            session = onnxruntime.InferenceSession(card["file"])
            [got] = session.run(None, {"noise": noise.numpy(), "labels": labels.numpy()})
            assert got.dtype == np.uint8 and np.abs(got.astype(int) - expected.numpy()).max() <= 1


def test_an_untraceable_generator_is_one_line_naming_it(make_eval_cfg, gan: Path, monkeypatch) -> None:
    """A generator with data-dependent control flow, which torch.export refuses (TorchScript's tracer would
    silently keep one branch)."""

    class Branchy(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, noise: torch.Tensor) -> torch.Tensor:
            images = self.net(noise)
            return images if images.mean() > 0 else -images

    from ganlab.models import GAN

    def branchy(self: GAN) -> torch.nn.Module:
        return Branchy(self.generator)

    monkeypatch.setattr(GAN, "generator_network", branchy)
    with pytest.raises(
        GanlabError, match=r"^the generator \(.*Branchy\) cannot be exported to onnx: .*torchscript$"
    ):
        evaluate(make_eval_cfg(f"ckpt_path={gan}", "task=export", "export.format=onnx"))


def test_onnx_without_its_packages_is_one_line_naming_the_extra(
    make_eval_cfg, gan: Path, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(
        GanlabError, match=r'^export\.format=onnx needs the onnxscript package.*"\.\[export\]"'
    ):
        evaluate(make_eval_cfg(f"ckpt_path={gan}", "task=export", "export.format=onnx"))


class SameLatents:
    """A torch-fidelity noise source serving `latents` in order: evaluate.py's own draw, batch by batch."""

    def __init__(self, latents: torch.Tensor) -> None:
        self.latents, self.used = latents, 0

    def __call__(self, rng: np.random.RandomState, shape: tuple[int, int]) -> torch.Tensor:
        batch = self.latents[self.used : self.used + shape[0]]
        self.used += shape[0]
        return batch


@pytest.mark.slow
def test_torch_fidelity_scores_the_exports_as_evaluate_does(
    make_cfg, make_eval_cfg, inception_weights: Path, tmp_path: Path
) -> None:
    """On evaluate.py's latents, torch-fidelity's generator input over each exported file gives evaluate.py's
    FID, IS and KID; and the card's own arguments (torch-fidelity drawing its noise) score the ONNX file."""
    n, seed = 24, 0
    faces = image_folder(
        tmp_path / "faces", n, seed=5, tint=(30, 0, -30)
    )  # RGB, as torch-fidelity's Inception
    train(make_cfg("data=image_folder", f"data.root={faces}", "data.image_size=32", run_dir=tmp_path / "rgb"))
    checkpoint = tmp_path / "rgb" / "checkpoints" / "last.ckpt"
    protocol = [f"metrics.inception_weights={inception_weights}", f"metrics.num_samples={n}",
                "metrics.is_splits=1",
                "metrics.kid_subsets=2", f"metrics.kid_subset_size={n}", f"metrics.seed={seed}"]  # fmt: skip
    ours = evaluate(make_eval_cfg(f"ckpt_path={checkpoint}", *protocol, run_dir=tmp_path / "scored"))
    cards = {
        format: evaluate(make_eval_cfg(f"ckpt_path={checkpoint}", "task=export", f"export.format={format}",
                                       run_dir=tmp_path / format))
        for format in ("torchscript", "onnx")
    }  # fmt: skip
    cfg = make_eval_cfg(f"ckpt_path={checkpoint}", *protocol)
    model, _ = load_generator(cfg)
    real = hydra.utils.instantiate(cfg.data).real_images()  # what evaluate.py compared with: all n, as files
    for i, index in enumerate(real_subset(len(real), n, seed)):
        write_image(tmp_path / "real" / f"{i:03d}.png", np.asarray(real[index]).transpose(1, 2, 0))
    settings = dict(input2=str(tmp_path / "real"), cuda=False, save_cpu_ram=True, fid=True, isc=True,
                    kid=True, isc_splits=1, kid_subsets=2, kid_subset_size=n,
                    feature_extractor="inception-v3-compat", cache=False, verbose=False,
                    feature_extractor_weights_path=str(inception_weights))  # fmt: skip
    noise = f"ganlab-{tmp_path.name}"
    source = SameLatents(model.sample_latent(n, torch.Generator().manual_seed(seed)))
    register_noise_source(noise, source)
    latent_dim = cards["onnx"]["inputs"]["noise"][1]
    files = {
        "torchscript": GenerativeModelModuleWrapper(torch.jit.load(cards["torchscript"]["file"]), latent_dim,
                                                    "normal", 0),
        "onnx": GenerativeModelONNX(cards["onnx"]["file"], latent_dim, "normal", 0),
    }  # fmt: skip
    for format, generator in files.items():
        source.used = 0
        generator._z_type = noise  # evaluate.py's latents (torch-fidelity's own types draw other numbers)
        theirs = torch_fidelity.calculate_metrics(input1=generator, input1_model_num_samples=n, **settings)
        assert ours["fid"]["value"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-3), format
        assert ours["is"]["value"] == pytest.approx(theirs["inception_score_mean"], rel=1e-3), format
        assert ours["kid"]["value"] == pytest.approx(
            theirs["kernel_inception_distance_mean"], rel=1e-2, abs=1e-4
        )
    direct = torch_fidelity.calculate_metrics(**cards["onnx"]["torch_fidelity"], input1_model_num_samples=n,
                                              **settings)  # the card's arguments, as a user passes them
    assert direct["frechet_inception_distance"] > 0


def test_the_sampling_and_export_commands_as_typed(project: Path, gan: Path, cgan: Path) -> None:
    commands = {
        "python evaluate.py ckpt_path=... task=sample sample.n=1000 sample.format=npz": gan,
        "python evaluate.py ckpt_path=... task=sample 'sample.seeds=[1,2,3]' sample.truncation=0.7": gan,
        "python evaluate.py ckpt_path=... task=sample 'sample.classes=[3]' sample.format=grid": cgan,
        "python evaluate.py ckpt_path=... task=export export.format=onnx": gan,
    }
    for command in commands:
        assert command in readme_commands(), command
    with ThreadPoolExecutor(2) as pool:
        finished = list(pool.map(
            lambda item: run_command(item[0].replace("ckpt_path=...", f"ckpt_path={item[1]}"), project),
            commands.items(),
        ))  # fmt: skip
    for result in finished:
        assert result.returncode == 0, result.stderr[-3000:]
    cards = [json.loads(p.read_text()) for p in project.glob("outputs/evaluate/runs/*/*.json")]
    written = {Path(file).name for card in cards for file in card.get("files", [])}
    assert {card.get("count") for card in cards} >= {1000, 3, 64}  # n, the seeds, a row of class 3
    assert {"samples.npz", "samples", "samples.png"} <= written
    [onnx] = [card for card in cards if card.get("format") == "onnx"]
    assert Path(onnx["file"]).is_file() and onnx["torch_fidelity"]["input1"] == onnx["file"]


@pytest.mark.parametrize("small_disk", [300], indirect=True)  # 1000 digits: 0.8 MB
def test_a_full_disk_is_one_line_and_leaves_no_half_file(project: Path, gan: Path, small_disk: Path) -> None:  # noqa: F811
    out = small_disk / "eval"
    command = f"python evaluate.py ckpt_path={gan} task=sample sample.n=1000 sample.format=npz"
    result = run_command(command, project, f"hydra.run.dir={out}")
    assert result.returncode == 1, result.stderr[-3000:]
    [line] = error_lines(result.stderr)
    assert line.startswith("error: no space left on device writing ") and "hydra.run.dir" in line, line
    assert not [p.name for p in out.iterdir() if "npz" in p.name]  # neither samples.npz nor its temporary
