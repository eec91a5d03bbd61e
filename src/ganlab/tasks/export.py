"""`task=export`: the generator (its EMA copy when the run kept one) as one self-contained TorchScript or ONNX
file, and a JSON card beside it saying how to call it and what it scored. The file maps standard noise (and
classes) to the uint8 pixels evaluate.py scores, so torch-fidelity takes it as its generator input."""

from __future__ import annotations

import hashlib
import importlib
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from ganlab.models.interface import Averaged, Conditional, GenerativeModel
from ganlab.tasks import register_task
from ganlab.utils.disk import cause_is_full_disk
from ganlab.utils.errors import GanlabError, first_line
from ganlab.utils.images import to_uint8
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)
FORMATS = {"torchscript": ".pth", "onnx": ".onnx"}  # .pth: the suffix torch-fidelity loads with torch.jit
EXPORT_PACKAGES = ("onnx", "onnxscript")  # what torch's ONNX exporter needs: the `export` extra


class Pixels(nn.Module):
    """noise -> uint8 images (N, C, H, W), rounded as torchvision's save_image and evaluate.py round."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return to_uint8(self.network(noise))


class ClassPixels(Pixels):
    """(noise, labels) -> uint8 images, for conditional generators."""

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return to_uint8(self.network(noise, labels))


@register_task("export")
def export(cfg: DictConfig, model: nn.Module, checkpoint: dict[str, Any], out: Path) -> dict[str, Any]:
    options = cfg.export
    if options.format not in FORMATS:
        raise GanlabError(f"export.format={options.format!r} is not known: use {' or '.join(FORMATS)}")
    if options.format == "onnx":
        _check_packages()
    assert isinstance(model, GenerativeModel)  # load_generator refused the others
    if isinstance(model, Averaged):
        model.sample_from_ema = bool(options.ema)
    conditional = isinstance(model, Conditional)
    network = model.generator_network().eval().cpu()
    wrapped = (ClassPixels if conditional else Pixels)(network).eval()
    latent_dim = model.sample_latent(1, torch.Generator()).shape[1]
    example: tuple[torch.Tensor, ...] = (torch.zeros(2, latent_dim),)
    if conditional:
        example = (*example, torch.zeros(2, dtype=torch.long))
    path = out / f"generator{FORMATS[options.format]}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # torch.jit's deprecation notices, the exporter's progress
            if options.format == "torchscript":
                torch.jit.trace(wrapped, example).save(str(path))
            else:
                _onnx(wrapped, example, path)
    except Exception as err:
        path.unlink(missing_ok=True)  # no half-written file that looks like an export
        if cause_is_full_disk(err):
            raise
        raise GanlabError(
            f"the generator ({type(network).__module__}.{type(network).__qualname__}) cannot be exported to "
            f"{options.format}: {first_line(err)[:300]}; try export.format="
            f"{'onnx' if options.format == 'torchscript' else 'torchscript'}"
        ) from None
    card = _card(cfg, model, checkpoint, path, latent_dim, conditional)
    (out / "generator.json").write_text(json.dumps(card, indent=2))
    log.info("exported the generator: %s (how to call it: %s)", path, out / "generator.json")
    return card


def _check_packages() -> None:
    for package in EXPORT_PACKAGES:
        try:
            importlib.import_module(package)
        except ImportError:
            raise GanlabError(
                f"export.format=onnx needs the {package} package, which is not installed: "
                f'pip install -e ".[export]" (or pip install {" ".join(EXPORT_PACKAGES)} onnxruntime)'
            ) from None


def _onnx(wrapped: nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    names = ["noise", "labels"][: len(example)]
    batch = torch.export.Dim("batch")
    torch.onnx.export(
        wrapped, example, str(path), input_names=names, output_names=["images"], dynamo=True,
        dynamic_shapes={name: {0: batch} for name in names}, verbose=False, external_data=False,
    )  # fmt: skip


def _card(
    cfg: DictConfig, model: Any, checkpoint: dict[str, Any], path: Path, latent_dim: int, conditional: bool
) -> dict[str, Any]:
    """How to call the file, and where it came from: the training config's hash, what it scored."""
    config = checkpoint["ganlab_config"]
    channels, height, width = model.image_shape
    classes = model.num_classes if conditional else None
    run = Path(cfg.ckpt_path).resolve().parent.parent
    results = json.loads((run / "results.json").read_text()) if (run / "results.json").is_file() else {}
    return {
        "file": str(path),
        "format": cfg.export.format,
        "file_sha256": _sha256(path.read_bytes()),
        "inputs": {"noise": [None, latent_dim], **({"labels": [None]} if conditional else {})},
        "prior": {"normal": "N(0, I), float32", "uniform": "U(-1, 1), float32"}[model.prior],
        "output": {"shape": [None, channels, height, width], "dtype": "uint8", "range": [0, 255]},
        "classes": classes,
        "generator": "ema" if isinstance(model, Averaged) and model.samples_ema else "generator",
        # torch_fidelity.calculate_metrics(**this, input2=...): its noise is N(0, I); it has no U(-1, 1)
        "torch_fidelity": None if model.prior != "normal" else {
            "input1": str(path), "input1_model_z_type": "normal", "input1_model_z_size": latent_dim,
            "input1_model_num_classes": classes or 0,
        },
        "source": {
            "ckpt_path": str(Path(cfg.ckpt_path).resolve()),
            "model": config["model"].get("_target_"),
            "epoch": checkpoint.get("epoch"),
            "global_step": checkpoint.get("global_step"),
            "config_sha256": _sha256(json.dumps(config, sort_keys=True, default=str).encode()),
        },
        "metrics": {  # the run's own, from its results.json; the protocol is its metrics settings
            "best": results.get("best"),
            "final": results.get("final"),
            "protocol": config.get("metrics"),
        },
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
