"""A model restored from a checkpoint's own run config, with the command line's `+model.`/`+data.` keys on
top: what evaluate.py's tasks start from."""

from __future__ import annotations

from typing import Any

import hydra
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

from ganlab.models.interface import GenerativeModel
from ganlab.utils.checkpoints import load_checkpoint
from ganlab.utils.errors import GanlabError


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
        if cfg.get("metrics"):  # the run's own metrics.extra are scored again without repeating them
            trained = OmegaConf.select(OmegaConf.create(run), "metrics.extra", default=None) or []
            cfg.metrics.extra = list(dict.fromkeys([*trained, *cfg.metrics.get("extra", [])]))

    model: nn.Module = hydra.utils.instantiate(model_cfg, _convert_="all")  # as train() builds it
    if not isinstance(model, GenerativeModel):
        raise GanlabError(
            f"the checkpoint holds a {type(model).__name__}, which does not generate images: "
            "pass the checkpoint of a generative model"
        )
    channels, size, _ = model.image_shape
    for key, made in (("image_size", size), ("channels", channels)):  # before real images are decoded
        asked = data_cfg.get(key)
        if made is not None and asked is not None and made != asked:
            raise GanlabError(
                f"data.{key}={asked} does not match the checkpoint's generator, which makes {key}={made}: "
                f"drop +data.{key} (the real images are compared at the generator's {key})"
            )
    model.check_checkpoint(checkpoint)
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(pick_device(cfg.get("device", "auto"))), checkpoint


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
