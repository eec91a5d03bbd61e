"""FID / IS / KID during training: every N epochs, M generated images against cached real statistics."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from ganlab.callbacks._epochs import due, eval_mode
from ganlab.metrics.scores import GenerativeScores

log = logging.getLogger(__name__)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8, rounded exactly as torchvision's save_image writes PNGs."""
    return ((images + 1) / 2).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


class GenerativeMetrics(L.Callback):
    """Scores the generator every `every_n_epochs` epochs (and after the last) and logs val/fid, val/is,
    val/kid. Sampling runs with G in eval mode, without gradients, in batches on the module's device,
    from its own seeded noise (the same each time, and the training RNG is not touched).
    Real-image statistics are computed once per dataset, resolution, extractor and count, cached on disk.
    """

    def __init__(
        self,
        extractor: nn.Module,
        num_samples: int = 10000,
        every_n_epochs: int = 5,
        batch_size: int = 250,
        is_splits: int = 10,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        cache_dir: str | os.PathLike | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.extractor = extractor
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.batch_size = batch_size
        self.score_kwargs = {
            "is_splits": is_splits,
            "kid_subsets": kid_subsets,
            "kid_subset_size": kid_subset_size,
        }
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.seed = seed
        self.scores: GenerativeScores | None = None
        self.last: dict[str, float] = {}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch
        if not due(trainer, self.every_n_epochs):
            return
        scores = self._scores(trainer, pl_module)
        scores.reset_fake()
        generator = torch.Generator().manual_seed(self.seed)
        with eval_mode(pl_module):
            for start in range(0, self.num_samples, self.batch_size):
                n = min(self.batch_size, self.num_samples - start)
                scores.update(to_uint8(pl_module.sample(n, generator=generator)), real=False)
        self.last = scores.compute()
        pl_module.log_dict({f"val/{k}": self.last[k] for k in ("fid", "is", "kid")}, on_epoch=True)
        log.info(
            "epoch %d: %s on %d samples",
            epoch,
            {k: round(v, 4) for k, v in self.last.items()},
            self.num_samples,
        )

    # --- real statistics -----------------------------------------------------------------------------
    def _scores(self, trainer: L.Trainer, pl_module: L.LightningModule) -> GenerativeScores:
        if self.scores is not None:
            return self.scores
        self.extractor.to(pl_module.device)
        scores = GenerativeScores(self.extractor, **self.score_kwargs).to(pl_module.device)
        real = trainer.datamodule.real_images()
        count = min(self.num_samples, len(real))
        path = self._cache_path(trainer.datamodule, count)
        if path is not None and path.exists():
            self._load_real(scores, torch.load(path, map_location=pl_module.device, weights_only=True))
            log.info("real statistics from %s", path)
        else:
            # A fixed random subset, so the statistics don't depend on the files' order.
            index = np.sort(np.random.default_rng(self.seed).permutation(len(real))[:count])
            for start in range(0, count, self.batch_size):
                batch = torch.from_numpy(np.asarray(real[index[start : start + self.batch_size]]))
                scores.update(batch.to(pl_module.device), real=True)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.save(self._real_state(scores), path)
        self.scores = scores
        return scores

    def _cache_path(self, datamodule: Any, count: int) -> Path | None:
        if self.cache_dir is None or not hasattr(datamodule, "cache_key"):
            return None
        protocol = self.extractor.protocol() if hasattr(self.extractor, "protocol") else {}
        extractor_id = protocol.get("weights_sha256") or type(self.extractor).__name__
        key = hashlib.sha256(
            f"{datamodule.cache_key()}|{extractor_id}|{count}|{self.seed}".encode()
        ).hexdigest()
        return self.cache_dir / f"real-stats-{datamodule.name}-{count}-{key[:16]}.pt"

    @staticmethod
    def _real_state(scores: GenerativeScores) -> dict[str, Any]:
        return {
            "fid_sum": scores.fid.real_features_sum,
            "fid_cov_sum": scores.fid.real_features_cov_sum,
            "fid_n": scores.fid.real_features_num_samples,
            "kid_features": torch.cat(scores.kid.real_features),
            "count": scores.counts["real"],
        }

    @staticmethod
    def _load_real(scores: GenerativeScores, state: dict[str, Any]) -> None:
        scores.fid.real_features_sum = state["fid_sum"]
        scores.fid.real_features_cov_sum = state["fid_cov_sum"]
        scores.fid.real_features_num_samples = state["fid_n"]
        scores.kid.real_features = [state["kid_features"]]
        scores.counts["real"] = state["count"]
