"""FID / IS / KID during training: every N epochs, M generated images against cached real statistics."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
from torch import nn

from ganlab.data.datamodules import ImageDataModule
from ganlab.metrics.evaluation import add_real_images, generated_batches, real_stats_path
from ganlab.metrics.scores import GenerativeScores
from ganlab.utils.modes import epoch_is_due
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


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
        if not epoch_is_due(trainer, self.every_n_epochs):
            return
        scores = self._scores(trainer, pl_module)
        scores.reset_fake()
        for batch in generated_batches(pl_module, self.num_samples, self.batch_size, self.seed):
            scores.update(batch, real=False)
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
        scores = GenerativeScores(self.extractor, **self.score_kwargs, seed=self.seed).to(pl_module.device)
        datamodule = trainer.datamodule
        real = datamodule.real_images()
        count = min(self.num_samples, len(real))
        path = None
        if self.cache_dir is not None and isinstance(datamodule, ImageDataModule):
            path = real_stats_path(
                self.cache_dir, datamodule.name, datamodule.cache_key(), self.extractor, count, self.seed
            )
        add_real_images(scores, real, count, self.seed, self.batch_size, path)
        self.scores = scores
        return scores
