"""The tracked runs (W&B, MLflow, Aim ids) inside every checkpoint, and the run's config sent to each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from ganlab.trackers import Tracker


class TrackedRuns(L.Callback):
    """Writes `checkpoint["ganlab_trackers"]` (what `Tracker.run()` says of each): resuming from the
    checkpoint reopens those runs, and a run id found in a tracker leads back to its checkpoints. At the start
    of fitting, each tracker gets the composed config file (`config_path`, Hydra's .hydra/config.yaml)."""

    def __init__(self, trackers: list[Tracker], config_path: Path) -> None:
        super().__init__()
        self.trackers, self.config_path = trackers, config_path
        self.runs: list[dict[str, Any]] = []  # train() fills them in once the runs are open

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and self.config_path.is_file():
            for tracker in self.trackers:
                tracker.config(self.config_path)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["ganlab_trackers"] = self.runs
