"""FID / IS / KID (and precision / recall / density / coverage) during training: every N epochs, M generated
images against cached real statistics; under DDP each process generates and scores its share."""

from __future__ import annotations

import json
import os
from pathlib import Path

import lightning as L
from torch import nn

from ganlab.data.datamodules import ImageDataModule
from ganlab.metrics.distributed import share, world
from ganlab.metrics.evaluation import add_real_images, generated_batches, real_stats_path
from ganlab.metrics.manifold import MANIFOLD_METRICS
from ganlab.metrics.scores import GenerativeScores
from ganlab.utils.files import atomic_write_text
from ganlab.utils.modes import epoch_is_due
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


class GenerativeMetrics(L.Callback):
    """Scores the generator every `every_n_epochs` epochs (and after the last) and logs val/fid, val/is,
    val/kid (and val/precision, val/recall, val/density, val/coverage with a `prc_neighborhood` k).
    Sampling runs with G in eval mode, without gradients or autocast, in batches on the module's device,
    from its own seeded noise (the same each time, and the training RNG is not touched); under DDP each
    process generates its share of the same samples and all features are gathered, so K processes give
    one process's numbers in 1/K of the time. Real-image statistics are computed once per dataset,
    resolution, extractor and count, cached on disk; the protocol goes to `metrics_protocol.json`.
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
        prc_neighborhood: int | None = 3,
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
            "prc_neighborhood": prc_neighborhood,
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
        rows = share(self.num_samples)
        scores.add_shared(
            generated_batches(pl_module, self.num_samples, self.batch_size, self.seed, rows=rows), real=False
        )
        self.last = scores.compute()  # the same on every process: all hold all features
        names = ("fid", "is", "kid", *(MANIFOLD_METRICS if "precision" in self.last else ()))
        pl_module.log_dict({f"val/{k}": self.last[k] for k in names}, on_epoch=True)
        log.info(
            "epoch %d: %s on %d samples",
            epoch,
            {k: round(v, 4) for k, v in self.last.items()},
            scores.counts["fake"],
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
        if isinstance(datamodule, ImageDataModule):
            scores.real_downscale = datamodule.downscale()
        add_real_images(scores, real, count, self.seed, self.batch_size, path)
        if world()[0] == 0:
            protocol = {**scores.protocol(), "num_fake": self.num_samples}
            protocol["every_n_epochs"] = self.every_n_epochs
            atomic_write_text(
                Path(trainer.default_root_dir) / "metrics_protocol.json", json.dumps(protocol, indent=2)
            )
        self.scores = scores
        return scores
