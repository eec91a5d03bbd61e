"""FID / IS / KID (and precision / recall / density / coverage) during training: every N epochs, M generated
images against cached real statistics; under DDP each process generates and scores its share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L

from ganlab.data.datamodules import ImageDataModule
from ganlab.metrics.distributed import share, world
from ganlab.metrics.evaluation import add_real_images, generated_batches, real_stats_path
from ganlab.metrics.extractors import make_extractor
from ganlab.metrics.report import describe
from ganlab.metrics.scores import GenerativeScores
from ganlab.utils.files import atomic_write_text
from ganlab.utils.modes import epoch_is_due
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


class GenerativeMetrics(L.Callback):
    """Scores the generator every `every_n_epochs` epochs (and after the last) with the run's metrics
    (`metrics.names` and `metrics.extra`, metrics/registry.py) and logs each value that has a direction as
    val/<value> (val/fid, val/is, val/kid, val/precision, ...). Sampling runs with G in eval mode, without
    gradients or autocast, in batches on the module's device, from its own seeded noise (the same each time,
    and the training RNG is not touched); under DDP each process generates its share of the same samples
    and all features are gathered, so K processes give one process's numbers in 1/K of the time. Real-image
    statistics are computed once per dataset, resolution, extractor and count, cached on disk; the protocol
    goes to `metrics_protocol.json`. `settings` is the `metrics` config node (conf/metrics/)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__()
        self.settings = settings
        self.extractor = make_extractor(
            settings["kind"], settings["inception_weights"], settings.get("classifier")
        )
        self.num_samples = settings["num_samples"]
        self.every_n_epochs = settings["every_n_epochs"]
        self.batch_size = settings["batch_size"]
        self.cache_dir = Path(settings["cache_dir"]) if settings.get("cache_dir") else None
        self.seed = settings["seed"]
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
        self.last = scores.compute(pl_module)  # the same on every process: all hold all features
        logged = {name: self.last[name.removeprefix("val/")] for name in scores.directions}
        pl_module.log_dict(logged, on_epoch=True)
        log.info("epoch %d: %s on %d samples", epoch, describe(self.last), scores.counts["fake"])

    # --- real statistics -----------------------------------------------------------------------------
    def _scores(self, trainer: L.Trainer, pl_module: L.LightningModule) -> GenerativeScores:
        if self.scores is not None:
            return self.scores
        self.extractor.to(pl_module.device)
        scores = GenerativeScores.from_settings(self.extractor, self.settings).to(pl_module.device)
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
