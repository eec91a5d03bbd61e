"""The domain classifier behind `metrics=domain`: trained on the labelled dataset, exported for scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from ganlab.models.interface import Exports
from ganlab.nets.classifier import DomainClassifier


class Classifier(L.LightningModule, Exports):
    """Cross-entropy on the training set; test accuracy logged as test/acc; weights exported to `export_path`
    (a plain file: hyper-parameters, state dict, test accuracy) where `metrics=domain` finds them."""

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        width: int = 32,
        feature_dim: int = 128,
        lr: float = 1e-3,
        export_path: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = DomainClassifier(channels, image_size, num_classes, width, feature_dim)
        self.test_acc: float | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        self.log_dict(
            {"train/loss": loss, "train/acc": (logits.argmax(1) == labels).float().mean()}, prog_bar=True
        )
        return loss

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        self.log("test/acc", (self(images).argmax(1) == labels).float().mean(), on_epoch=True)

    def on_test_epoch_end(self) -> None:
        self.test_acc = float(self.trainer.callback_metrics["test/acc"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def export(self, path: str | Path | None = None) -> Path | None:
        """Save what DomainFeatures needs (loadable with weights_only)."""
        if (path := self.destination(path or self.hparams.export_path)) is None:
            return None
        hparams: dict[str, Any] = {k: v for k, v in self.hparams.items() if k not in ("export_path", "lr")}
        torch.save({"hparams": hparams, "state_dict": self.net.state_dict(), "test_acc": self.test_acc}, path)
        return path
