"""A conditional model scored class by class: per-class FID/KID, intra-FID, class accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from ganlab.metrics import GenerativeScores
from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.evaluation import add_real_images, generated_batches, real_stats_path
from ganlab.utils.errors import GanlabError
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


def score_classes(cfg: DictConfig, model: nn.Module, datamodule: Any, extractor: nn.Module) -> dict[str, Any]:
    """A conditional model, class by class: `num_samples / num_classes` samples of each class against the
    real images of that class (FID, KID; the mean FID is the intra-FID of Miyato & Koyama, 2018), and how
    often a domain classifier recognises the class each sample was generated for. (IS is left out: one
    class's samples are meant to look alike to the classifier, so it says little per class.)"""
    metrics = cfg.metrics
    classes = model.num_classes
    names = datamodule.class_names or [str(c) for c in range(classes)]
    real, real_labels = datamodule.real_images(), datamodule.real_labels()
    per_class = metrics.num_samples // classes
    classifier = load_class_classifier(cfg.conditional.get("classifier"), classes, model.device)
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
        scores = GenerativeScores.from_settings(
            extractor, metrics, names=("fid", "kid"), extra=(), prc_neighborhood=None
        ).to(model.device)
        cache = real_stats_path(
            metrics.cache_dir, f"{datamodule.name}-class{c}", f"{datamodule.cache_key()}|class {c}",
            extractor, count, metrics.seed,
        )  # fmt: skip
        add_real_images(scores, np.asarray(real[index]), count, metrics.seed, metrics.batch_size, cache)
        hits = 0
        for batch in generated_batches(model, per_class, metrics.batch_size, metrics.seed, label=c):
            scores.update(batch, real=False)
            if classifier is not None:
                hits += int((classifier(batch)["logits"].argmax(1) == c).sum())
        value = scores.compute()
        results[names[c]] = {
            "fid": value["fid"], "kid": value["kid"], "kid_std": value["kid_std"],
            "accuracy": hits / per_class if classifier is not None else None,
            "n_real": count, "n_fake": per_class,
        }  # fmt: skip
        correct += hits
        log.info("class %s: %s", names[c], results[names[c]])
    summary = {
        "samples_per_class": per_class,
        "intra_fid": float(np.mean([r["fid"] for r in results.values()])),
        "class_accuracy": correct / (per_class * classes) if classifier is not None else None,
        "classifier": classifier.protocol() if classifier is not None else None,
        "classes": results,
    }
    log.info(
        "intra-FID %.4f, class accuracy %s (%d samples per class)",
        summary["intra_fid"], summary["class_accuracy"], per_class,
    )  # fmt: skip
    return summary


def load_class_classifier(path: str | None, classes: int, device: torch.device) -> DomainFeatures | None:
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
    classifier = DomainFeatures(path)
    if classifier.num_classes != classes:
        raise GanlabError(
            f"the classifier {path} tells {classifier.num_classes} classes and the model generates "
            f"{classes}: "
            "pass conditional.classifier=<a classifier of the model's dataset>"
        )
    return classifier.to(device)
