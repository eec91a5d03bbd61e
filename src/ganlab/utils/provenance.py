"""Where a run's non-default settings came from, when a recipe set them: the data x model overlay
(conf/data_model/) or an experiment (conf/experiment/). Printed at the start and kept in results.json, so a
run is never trained with values that nothing on the screen or in its folder names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ganlab.utils.hparams import dotted

RECIPE_GROUPS = ("data_model", "experiment")


def recipe_settings(cfg: DictConfig) -> dict[str, dict[str, Any]]:
    """{"conf/data_model/mnist_mini_dcgan.yaml": {"model.lr": 0.003, ...}, ...}: each applied recipe file and
    the settings it sets (its config-group choices as `group=option`); those the command line set again
    are left out, since the command line wins."""
    if not HydraConfig.initialized():
        return {}
    hydra = HydraConfig.get()
    typed = {o.split("=", 1)[0].lstrip("+~") for o in hydra.overrides.task}
    found: dict[str, dict[str, Any]] = {}
    for group in RECIPE_GROUPS:
        choice = hydra.runtime.choices.get(group)
        path = _find(hydra, f"{group}/{choice}.yaml") if choice else None
        if path is None:
            continue
        recipe = OmegaConf.load(path)
        settings: dict[str, Any] = {}
        for entry in recipe.get("defaults", []):  # `override /data: anime` -> data=anime
            if isinstance(entry, DictConfig):
                for key, option in entry.items():
                    settings[key.removeprefix("override ").lstrip("/")] = option
        body = OmegaConf.masked_copy(recipe, [k for k in recipe if k != "defaults"])
        settings |= dotted(OmegaConf.to_container(body))
        found[str(path)] = {k: v for k, v in settings.items() if k not in typed}
    return found


def describe(found: dict[str, dict[str, Any]]) -> list[str]:
    """One line per recipe: `conf/data_model/x.yaml sets model.lr=0.003, trainer.max_epochs=28`."""
    return [
        f"{path} sets {', '.join(f'{k}={v}' for k, v in settings.items())}"
        for path, settings in found.items()
        if settings
    ]


def _find(hydra: Any, relative: str) -> Path | None:
    for source in hydra.runtime.config_sources:
        if source.schema == "file" and (Path(source.path) / relative).is_file():
            return Path(source.path) / relative
    return None
