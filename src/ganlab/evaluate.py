"""Score a trained generator, or two image folders; `evaluate.py` at the project root is the command.

A checkpoint carries its run's resolved config (callbacks.RunConfig), so the model and the real data come
from it; `+data.<key>=` / `+model.<key>=` override single settings of it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from PIL import Image
from torch import nn
from torch.nn import functional as F
from torchvision.utils import save_image

from ganlab import latent
from ganlab.data import ImageFolderDataModule, sources
from ganlab.metrics import GenerativeScores, make_extractor
from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.evaluation import (
    add_real,
    describe,
    generated_batches,
    real_stats_path,
    real_subset,
    to_uint8,
)
from ganlab.utils.checkpoints import load_checkpoint
from ganlab.utils.errors import GanlabError
from ganlab.utils.modes import eval_mode

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """FID / IS / KID of `ckpt_path`'s generator, or of `fake_dir` against `real_dir`; writes metrics.json
    (and a sample grid, and on request every generated image) to the run directory."""
    if cfg.get("real_dir") or cfg.get("fake_dir"):
        return _evaluate_folders(cfg)
    if not cfg.get("ckpt_path"):
        raise GanlabError(
            "nothing to evaluate: pass ckpt_path=<a .ckpt written by train.py> "
            "or real_dir=<folder> fake_dir=<folder>"
        )
    return _evaluate_checkpoint(cfg)


# --- a checkpoint --------------------------------------------------------------------------------------
def merge_settings(saved: dict[str, Any], overrides: DictConfig | None, group: str) -> DictConfig:
    """The checkpoint's `group` config with the command line's `+group.key=value` on top; a key the saved
    config lacks is refused, since it would be silently ignored."""
    merged = OmegaConf.create(saved)
    for key in overrides or {}:
        if key not in merged:
            raise GanlabError(
                f"{group}.{key} is not a setting of the checkpoint's {group} "
                f"({merged.get('_target_')}); known: {', '.join(k for k in merged if k != '_target_')}"
            )
    return OmegaConf.merge(merged, overrides or {})


def load_generator(cfg: DictConfig) -> tuple[nn.Module, dict[str, Any]]:
    """The checkpoint's model with its weights, on `cfg.device`; `cfg.data`/`cfg.model` become the
    checkpoint's settings with the command line's on top."""
    checkpoint = load_checkpoint(cfg.ckpt_path)
    run = checkpoint["ganlab_config"]
    data_cfg = merge_settings(run["data"], cfg.get("data"), "data")
    model_cfg = merge_settings(run["model"], cfg.get("model"), "model")
    with open_dict(cfg):  # `${data.name}` and the like in the metrics config now mean the checkpoint's data
        cfg.data, cfg.model = data_cfg, model_cfg

    model: nn.Module = hydra.utils.instantiate(model_cfg)
    if not hasattr(model, "sample"):
        raise GanlabError(
            f"the checkpoint holds a {type(model).__name__}, which does not generate images: "
            "pass the checkpoint of a generative model"
        )
    for key in ("image_size", "channels"):  # before any real image is decoded at the wrong size
        made, asked = model.hparams.get(key), data_cfg.get(key)
        if made is not None and asked is not None and made != asked:
            raise GanlabError(
                f"data.{key}={asked} does not match the checkpoint's generator, which makes {key}={made}: "
                f"drop +data.{key} (the real images are compared at the generator's {key})"
            )
    model.check_checkpoint(checkpoint)
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(_device(cfg.get("device", "auto"))), checkpoint


def _evaluate_checkpoint(cfg: DictConfig) -> dict[str, Any]:
    task = cfg.get("task", "metrics")
    if task not in ("metrics", "interpolate", "latent_shift", "denoise"):
        raise GanlabError(f"task={task!r} is not known: use metrics, interpolate, latent_shift or denoise")
    if cfg.real_split not in ("train", "test"):
        raise GanlabError(f"real_split={cfg.real_split!r} is not known: use train or test")
    model, checkpoint = load_generator(cfg)
    out = Path(cfg.paths.output_dir)
    if task == "interpolate":
        options = cfg.interpolate
        path = latent.interpolate(model, out, options.pairs, options.steps, options.method, options.seed)
        log.info("interpolation grid: %s", path)
        return {"task": task, "files": [str(path)]}
    if task == "latent_shift":
        options = cfg.latent_shift
        paths = latent.latent_shift(
            model, out, list(options.means), options.std, options.samples, options.seed
        )
        log.info("latent shift grids: %s", ", ".join(str(p) for p in paths))
        return {"task": task, "files": [str(p) for p in paths]}
    if task == "denoise":
        return _denoise_folder(cfg, model, out)
    return _score_generator(cfg, model, checkpoint, out)


def _denoise_folder(cfg: DictConfig, model: nn.Module, out: Path) -> dict[str, Any]:
    """`task=denoise input_dir=<folder>`: each image through a denoising model, saved under `denoised/`
    with its own relative name (as PNG), at the model's resolution."""
    if not hasattr(model, "denoise"):
        raise GanlabError(f"task=denoise needs a denoising model (model=dae), not {type(model).__name__}")
    if not cfg.get("input_dir"):
        raise GanlabError("task=denoise needs input_dir=<a folder of images>")
    root = Path(cfg.input_dir).expanduser()
    files = _image_files(root, "input_dir")
    hp = model.hparams
    images, kept, skipped = sources.decode_images(files, hp.image_size, hp.channels)
    if skipped:
        log.warning(
            "input_dir: skipped %d unreadable file(s): %s", len(skipped), ", ".join(map(str, skipped[:10]))
        )
    written = []
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(images), cfg.metrics.batch_size):
            batch = torch.from_numpy(images[start : start + cfg.metrics.batch_size]).to(model.device)
            cleaned = to_uint8(model.denoise(batch.float() / 127.5 - 1)).cpu().numpy()
            for i, image in zip(kept[start : start + len(batch)], cleaned, strict=True):
                path = (out / "denoised" / files[i].relative_to(root)).with_suffix(".png")
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(path)
                written.append(str(path))
    log.info("%d denoised images in %s", len(written), out / "denoised")
    return {"task": "denoise", "files": written}


def _score_generator(
    cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path
) -> dict[str, Any]:
    """`metrics.num_samples` generated images against the real split: metrics.json, samples.png, PNGs."""
    datamodule = hydra.utils.instantiate(cfg.data)
    if cfg.real_split == "test":
        if not datamodule.has_test_split():
            raise GanlabError(f"{datamodule.name} has no test split: use real_split=train")
        datamodule = datamodule.test_split()
    real = datamodule.real_images()

    num_samples, batch_size, seed = cfg.metrics.num_samples, cfg.metrics.batch_size, cfg.metrics.seed
    extractor, scores = _scores(cfg, model.device)
    count = min(num_samples, len(real))
    cache = real_stats_path(
        cfg.metrics.cache_dir, datamodule.name, datamodule.cache_key(), extractor, count, seed
    )
    add_real(scores, real, count, seed, batch_size, cache)

    image_dir = out / "images" if cfg.save_images else None
    grid: list[torch.Tensor] = []
    batches = generated_batches(model, num_samples, batch_size, seed)
    for start, batch in zip(range(0, num_samples, batch_size), batches, strict=True):
        scores.update(batch, real=False)
        if len(grid) * batch_size < cfg.grid_size:
            grid.append(batch.cpu())
        if image_dir is not None:
            _save_pngs(batch, image_dir, start)
    _save_grid(torch.cat(grid)[: cfg.grid_size], out / "samples.png")

    source = {
        "ckpt_path": str(Path(cfg.ckpt_path).resolve()),
        "model": cfg.model.get("_target_"),
        "epoch": checkpoint.get("epoch"),
        "global_step": checkpoint.get("global_step"),
        "real": f"{datamodule.name} {cfg.real_split} split, {count} of {len(real)} images "
                f"(random subset, seed {seed})",
        "generated": f"{num_samples} samples, noise seed {seed}",
    }  # fmt: skip
    extra = {}
    if hasattr(model, "reconstruct") or hasattr(model, "denoise"):
        extra["reconstruction"] = _reconstruction_error(cfg, model, real, count)
        source["reconstructed"] = f"the same {count} real images"
    if getattr(model.hparams, "num_classes", None) and cfg.conditional.per_class:
        extra["conditional"] = _score_classes(cfg, model, datamodule, extractor)
    return _write(scores, source, out, image_dir, extra)


def _reconstruction_error(cfg: DictConfig, model: nn.Module, real: np.ndarray, count: int) -> dict[str, Any]:
    """Autoencoders: the mean squared error of reconstructing the scored real images (pixels in [-1, 1], as
    the training loss) and its PSNR. A denoising model gets them with its training noise (seeded), and the
    noisy input's own error is reported beside it: the baseline that denoising has to beat."""
    seed, batch_size = cfg.metrics.seed, cfg.metrics.batch_size
    index = real_subset(len(real), count, seed)
    noise = torch.Generator().manual_seed(seed)
    totals = {"mse": 0.0, "noisy_input_mse": 0.0}
    with eval_mode(model), torch.no_grad():
        for start in range(0, count, batch_size):
            batch = torch.from_numpy(np.asarray(real[index[start : start + batch_size]])).to(model.device)
            clean = batch.float() / 127.5 - 1
            if hasattr(model, "denoise"):
                noisy = model.add_noise(clean, noise)
                totals["noisy_input_mse"] += F.mse_loss(noisy, clean, reduction="sum").item()
                output = model.denoise(noisy)
            else:
                output = model.reconstruct(clean)
            totals["mse"] += F.mse_loss(output, clean, reduction="sum").item()
    pixels = count * int(np.prod(real.shape[1:]))
    result: dict[str, Any] = {"mse": totals["mse"] / pixels, "n": count, "pixels": "[-1, 1]"}
    if hasattr(model, "denoise"):
        result["noisy_input_mse"] = totals["noisy_input_mse"] / pixels
        result["noise_factor"] = model.hparams.noise_factor
    result["psnr_db"] = float(10 * np.log10(4 / result["mse"]))  # peak-to-peak 2 in [-1, 1]
    log.info("reconstruction: %s", result)
    return result


def _score_classes(
    cfg: DictConfig, model: nn.Module, datamodule: Any, extractor: nn.Module
) -> dict[str, Any]:
    """A conditional model, class by class: `num_samples / num_classes` samples of each class against the
    real images of that class (FID, KID; the mean FID is the intra-FID of Miyato & Koyama, 2018), and how
    often a domain classifier recognises the class each sample was generated for. (IS is left out: one
    class's samples are meant to look alike to the classifier, so it says little per class.)"""
    metrics = cfg.metrics
    classes = model.hparams.num_classes
    names = datamodule.class_names or [str(c) for c in range(classes)]
    real, real_labels = datamodule.real_images(), datamodule.real_labels()
    per_class = metrics.num_samples // classes
    judge = _class_judge(cfg.conditional.get("classifier"), classes, model.device)
    results: dict[str, Any] = {}
    correct = 0
    for c in range(classes):
        index = np.flatnonzero(real_labels == c)
        count = min(per_class, len(index))
        if count < 2:
            raise GanlabError(
                f"class {names[c]!r} has {len(index)} real image(s) in the {cfg.real_split} split, too few "
                "to score it: pass conditional.per_class=false"
            )
        scores = GenerativeScores(
            extractor, kid_subsets=metrics.kid_subsets, kid_subset_size=metrics.kid_subset_size,
            seed=metrics.seed,
        ).to(model.device)  # fmt: skip
        cache = real_stats_path(
            metrics.cache_dir, f"{datamodule.name}-class{c}", f"{datamodule.cache_key()}|class {c}",
            extractor, count, metrics.seed,
        )  # fmt: skip
        add_real(scores, np.asarray(real[index]), count, metrics.seed, metrics.batch_size, cache)
        hits = 0
        for batch in generated_batches(model, per_class, metrics.batch_size, metrics.seed, label=c):
            scores.update(batch, real=False)
            if judge is not None:
                hits += int((judge(batch)["logits"].argmax(1) == c).sum())
        value = scores.compute()
        results[names[c]] = {
            "fid": value["fid"], "kid": value["kid"], "kid_std": value["kid_std"],
            "accuracy": hits / per_class if judge is not None else None, "n_real": count, "n_fake": per_class,
        }  # fmt: skip
        correct += hits
        log.info("class %s: %s", names[c], results[names[c]])
    summary = {
        "samples_per_class": per_class,
        "intra_fid": float(np.mean([r["fid"] for r in results.values()])),
        "class_accuracy": correct / (per_class * classes) if judge is not None else None,
        "classifier": judge.protocol() if judge is not None else None,
        "classes": results,
    }
    log.info(
        "intra-FID %.4f, class accuracy %s (%d samples per class)",
        summary["intra_fid"], summary["class_accuracy"], per_class,
    )  # fmt: skip
    return summary


def _class_judge(path: str | None, classes: int, device: torch.device) -> DomainFeatures | None:
    """The domain classifier that checks a conditional model's classes; None (with a warning saying how to
    get one) when there is none."""
    if not path:
        return None
    if not Path(path).is_file():
        log.warning(
            "no domain classifier at %s, so no class accuracy: train one with `python train.py "
            "model=classifier data=<the dataset>` or pass conditional.classifier=<its .pt file>", path
        )  # fmt: skip
        return None
    judge = DomainFeatures(path)
    if judge.num_classes != classes:
        raise GanlabError(
            f"the classifier {path} tells {judge.num_classes} classes and the model generates {classes}: "
            "pass conditional.classifier=<a classifier of the model's dataset>"
        )
    return judge.to(device)


# --- two folders ---------------------------------------------------------------------------------------
def _evaluate_folders(cfg: DictConfig) -> dict[str, Any]:
    if not (cfg.get("real_dir") and cfg.get("fake_dir")):
        raise GanlabError("scoring folders needs both real_dir=<folder> and fake_dir=<folder>")
    real_dir, fake_dir = Path(cfg.real_dir).expanduser(), Path(cfg.fake_dir).expanduser()
    fake_files = _image_files(fake_dir, "fake_dir")
    size, channels = _image_format(fake_files)
    # Every image at its own size, as torch-fidelity reads them; the real folder's decode is cached.
    real_module = ImageFolderDataModule(
        root=real_dir, name=f"folder-{real_dir.name}", image_size=size, channels=channels,
        cache_dir=Path(cfg.paths.cache_dir) / "datasets",
        download_hint="Pass real_dir=<a folder of png/jpg/webp images>.",
    )  # fmt: skip
    real = real_module.real_images()
    fake, _, skipped = sources.decode_images(fake_files, size, channels)
    if skipped:
        named = ", ".join(map(str, skipped[:10]))
        log.warning("fake_dir: skipped %d unreadable file(s): %s", len(skipped), named)

    device = _device(cfg.get("device", "auto"))
    extractor, scores = _scores(cfg, device)
    seed = cfg.metrics.seed
    cache = real_stats_path(
        cfg.metrics.cache_dir, real_module.name, real_module.cache_key(), extractor, len(real), seed
    )
    add_real(scores, real, len(real), seed, cfg.metrics.batch_size, cache)
    for batch in torch.from_numpy(fake).split(cfg.metrics.batch_size):
        scores.update(batch.to(device), real=False)
    source = {
        "real_dir": str(real_dir.resolve()),
        "fake_dir": str(fake_dir.resolve()),
        "image_size": size,
        "channels": channels,
    }
    return _write(scores, source, Path(cfg.paths.output_dir), None)


def _image_files(folder: Path, option: str) -> list[Path]:
    if not folder.is_dir():
        raise GanlabError(f"{option} '{folder}' is not a folder: pass a folder of png/jpg/webp images")
    files = sources.list_images(folder)
    if not files:
        raise GanlabError(f"{option} '{folder}' holds no png/jpg/webp images")
    return files


def _image_format(files: list[Path]) -> tuple[int, int]:
    """The side and channel count of the first readable image; others are centre-fitted to it."""
    for path in files:
        try:
            with Image.open(path) as image:
                width, height = image.size
                channels = 1 if image.mode in ("L", "LA", "I", "I;16", "1") else 3
        except OSError:
            continue
        if width != height:
            raise GanlabError(f"'{path}' is {width}x{height}: score square images (crop or resize first)")
        return width, channels
    raise GanlabError(f"none of the {len(files)} files in '{files[0].parent}' could be read as an image")


# --- shared ----------------------------------------------------------------------------------------------
def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _scores(cfg: DictConfig, device: torch.device) -> tuple[nn.Module, GenerativeScores]:
    metrics = cfg.metrics
    classifier = OmegaConf.select(metrics, "classifier", throw_on_resolution_failure=False)
    extractor = make_extractor(metrics.kind, metrics.inception_weights, classifier).to(device)
    scores = GenerativeScores(
        extractor, is_splits=metrics.is_splits, kid_subsets=metrics.kid_subsets,
        kid_subset_size=metrics.kid_subset_size, seed=metrics.seed,
    ).to(device)  # fmt: skip
    return extractor, scores


def _save_pngs(batch: torch.Tensor, folder: Path, start: int) -> None:
    """uint8 (N, C, H, W) -> 000000.png, ...: exactly the pixels that were scored."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(batch.cpu().numpy()):
        Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(
            folder / f"{start + i:06d}.png"
        )


def _save_grid(images: torch.Tensor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.float() / 255, path, nrow=int(np.ceil(np.sqrt(len(images)))), padding=2)


def _write(
    scores: GenerativeScores,
    source: dict[str, Any],
    out: Path,
    image_dir: Path | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    results = {**describe(scores.compute(), scores), **(extra or {})}
    results["source"] = source
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=2, default=str))
    log.info(
        "FID %.4f  IS %.4f ± %.4f  KID %.5f ± %.5f  (%d generated vs %d real): %s",
        results["fid"]["value"], results["is"]["value"], results["is"]["std"], results["kid"]["value"],
        results["kid"]["std"], results["fid"]["n_fake"], results["fid"]["n_real"], out / "metrics.json",
    )  # fmt: skip
    if image_dir is not None:
        log.info("generated images: %s", image_dir)
    return results
