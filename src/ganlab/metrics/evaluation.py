"""What scoring a generator takes, shared by the training callback and `evaluate.py`: generated batches as
uint8, and real-image statistics from a fixed subset, cached on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganlab.metrics.distributed import all_true, share, world
from ganlab.metrics.features import FeatureExtractor
from ganlab.metrics.scores import GenerativeScores
from ganlab.utils.files import atomic_open
from ganlab.utils.images import to_uint8
from ganlab.utils.modes import eval_mode
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


@torch.no_grad()
def generated_batches(
    model: nn.Module,
    count: int,
    batch_size: int,
    seed: int,
    label: int | None = None,
    rows: range | None = None,
) -> Iterator[torch.Tensor]:
    """Samples `rows` (default: all) of `count` as uint8 batches, G in eval mode and float32 (outside any
    autocast), all latents (and classes) drawn first from noise of their own seed: sample i is the same
    however the rows are split between processes, and the global RNG and G's mode are left as they were.
    All of class `label` when given (conditional models)."""
    generator = torch.Generator().manual_seed(seed)
    z = model.sample_latent(count, generator=generator)
    if label is None:
        labels = model.sample_labels(count, generator=generator)
    else:
        labels = torch.full((count,), label, dtype=torch.long)
    yield from images_of(model, z, labels, batch_size, range(count) if rows is None else rows)


@torch.no_grad()
def images_of(
    model: nn.Module, z: torch.Tensor, labels: torch.Tensor | None, batch_size: int, rows: range | None = None
) -> Iterator[torch.Tensor]:
    """The uint8 images of latents `z` (and `labels`), `rows` of them (default: all) in batches: G in eval
    mode and float32 (outside any autocast), its mode left as it was."""
    rows = range(len(z)) if rows is None else rows
    with eval_mode(model), torch.autocast(model.device.type, enabled=False):
        for start in range(rows.start, rows.stop, batch_size):
            part = slice(start, min(start + batch_size, rows.stop))
            batch_labels = None if labels is None else labels[part].to(model.device)
            yield to_uint8(model.generate(z[part].to(model.device), batch_labels).float())


REAL_STATE_KEYS = {"fid_sum", "fid_cov_sum", "fid_n", "kid_features", "count"}  # GenerativeScores.real_state


def real_subset(total: int, count: int, seed: int) -> np.ndarray:
    """The indices of the real images scored: a fixed random subset, so no result depends on file order."""
    return np.sort(np.random.default_rng(seed).permutation(total)[:count])


def real_stats_path(
    cache_dir: str | Path, dataset_name: str, dataset_key: str, extractor: nn.Module, count: int, seed: int
) -> Path:
    """One file per dataset (and its resolution and files: the datamodule's cache key), extractor weights,
    number of images and subset seed."""
    protocol = extractor.protocol() if isinstance(extractor, FeatureExtractor) else {}
    extractor_id = protocol.get("weights_sha256") or type(extractor).__name__
    key = hashlib.sha256(f"{dataset_key}|{extractor_id}|{count}|{seed}".encode()).hexdigest()
    return Path(cache_dir) / f"real-stats-{dataset_name}-{count}-{key[:16]}.pt"


def add_real_images(
    scores: GenerativeScores,
    real: np.ndarray,
    count: int,
    seed: int,
    batch_size: int,
    cache_path: Path | None = None,
) -> None:
    """Feed `scores` the statistics of `count` real uint8 images (N, C, H, W), from the cache when every
    process can read it. Otherwise each process extracts its share of the subset, all receive all
    features, and process 0 alone writes the cache (atomically: racing writers leave one whole file)."""
    device = scores.fid.real_features_sum.device
    state = None
    if cache_path is not None and cache_path.exists():
        state = _read_real_state(cache_path, device, count)
    if all_true(state is not None, device):
        scores.load_real_state(state)
        log.info("real statistics from %s", cache_path)
        return
    mine = share(count)
    index = real_subset(len(real), count, seed)[mine.start : mine.stop]
    batches = (
        torch.from_numpy(np.asarray(real[index[start : start + batch_size]])).to(device)
        for start in range(0, len(index), batch_size)
    )
    scores.add_shared(batches, real=True)
    if cache_path is not None and world()[0] == 0:
        write_real_state(scores, cache_path)


def write_real_state(scores: GenerativeScores, path: Path) -> None:
    """Whole or not at all (temporary file, then rename): later runs and racing sweep jobs trust what they
    find there."""
    with atomic_open(path, "wb") as f:
        torch.save(scores.real_state(), f)


def _read_real_state(path: Path, device: torch.device, count: int) -> dict[str, Any] | None:
    """The cached statistics when the file is whole and of `count` images; None (after one warning naming
    the file) for a truncated, corrupt or foreign one, which is then computed again and rewritten."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        missing = REAL_STATE_KEYS - set(state) if isinstance(state, dict) else REAL_STATE_KEYS
        if missing or state["count"] != count:
            raise ValueError(
                f"missing {sorted(missing)}" if missing else f"{state['count']} images, not {count}"
            )
    except Exception as err:  # unpickling errors come in many types; any of them means "rebuild"
        log.warning(
            "real-statistics cache %s is unusable (%s): computing the statistics again to rebuild it",
            path, " ".join(f"{type(err).__name__}: {err}".split())[:200],
        )  # fmt: skip
        return None
    return state


def with_protocol(results: dict[str, float], scores: GenerativeScores) -> dict[str, Any]:
    """metrics.json: a section per value of each chosen metric (its `<value>_std` folded in as "std"), with
    the sample counts and the full protocol it was measured under."""
    protocol = scores.protocol()
    shared = {k: protocol[k] for k in protocol if k not in ("num_real", "num_fake")}
    n_real, n_fake = protocol["num_real"], protocol["num_fake"]
    report: dict[str, Any] = {}
    for metric in scores.metrics:
        for key in metric.directions:
            if key.endswith("_std") and key[:-4] in metric.directions:
                continue
            counts = {"n_real": n_real, "n_fake": n_fake} if "features" in metric.needs else {"n": n_fake}
            std = {"std": results[f"{key}_std"]} if f"{key}_std" in results else {}
            report[key] = {"value": results[key], **std, "metric": metric.name, **counts, **shared}
    # The same values under torch-fidelity's names, to drop into tables built with it. Not the stds:
    # torchmetrics' are over splits/subsets with ddof=1, torch-fidelity's with ddof=0.
    names = {"fid": "frechet_inception_distance", "is": "inception_score_mean",
             "kid": "kernel_inception_distance_mean", "precision": "precision", "recall": "recall",
             "f_score": "f_score"}  # fmt: skip
    report["torch_fidelity"] = {theirs: results[ours] for ours, theirs in names.items() if ours in results}
    return report
