"""A self-supervised domain encoder (SimCLR, Chen et al. 2020): a feature space for `metrics=domain` learnt
from the unlabelled images themselves (faces, leaves, X-rays), where no classifier and no download fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from ganlab.models.interface import Exports
from ganlab.nets.dcgan import DCGANEncoder
from ganlab.utils.errors import GanlabError

NETWORK = "ganlab.nets.DCGANEncoder"  # what the exported file's `network` names (DomainFeatures builds it)


def contrastive_loss(z: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """NT-Xent over 2N unit vectors, view i of image k paired with the other view of k; and how often the
    pair is each row's nearest neighbour (the task's accuracy)."""
    n = len(z) // 2
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(similarity, partner), (similarity.argmax(1) == partner).float().mean()


class DomainEncoder(L.LightningModule, Exports):
    """Two augmented views of each image (a random crop of at least `crop_scale` of it, a flip, colour jitter
    and sometimes gray) pulled together and apart from the batch's other images; the encoder's `feature_dim`
    output (before the projection head) is the feature space, exported to `export_path`."""

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        width: int = 32,
        feature_dim: int = 128,
        projection_dim: int = 64,
        temperature: float = 0.2,
        lr: float = 1e-3,
        crop_scale: float = 0.35,
        jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1),
        grayscale: float = 0.2,
        dataset: str | None = None,
        export_path: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = DCGANEncoder(feature_dim, channels, image_size, width)
        self.projection = nn.Sequential(
            nn.Linear(feature_dim, feature_dim), nn.ReLU(True), nn.Linear(feature_dim, projection_dim)
        )
        if len(jitter) != 4:
            raise GanlabError(
                f"model.jitter={list(jitter)} needs 4 numbers, brightness, contrast, saturation and hue: "
                "e.g. model.jitter=[0.4,0.4,0.4,0.1]"
            )
        brightness, contrast, saturation, hue = jitter
        colour = [v2.RandomApply([v2.ColorJitter(brightness, contrast, saturation, hue)], p=0.8),
                  v2.RandomGrayscale(grayscale)]  # fmt: skip
        self.view = v2.Compose([
            v2.RandomResizedCrop(image_size, scale=(crop_scale, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            *(colour if channels == 3 else [v2.RandomApply([v2.ColorJitter(brightness, contrast)], p=0.8)]),
        ])  # fmt: skip

    def views(self, images: torch.Tensor) -> torch.Tensor:
        """Two random views of each image in [-1, 1], drawn image by image (the batch's share no draw)."""
        unit = (images.float() + 1) / 2
        pairs = [torch.stack([self.view(image) for image in unit]) for _ in range(2)]
        return torch.cat(pairs) * 2 - 1

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        z = F.normalize(self.projection(self.net(self.views(batch[0]))), dim=1)
        loss, accuracy = contrastive_loss(z, self.hparams.temperature)
        self.log_dict({"train/loss": loss, "train/acc": accuracy}, prog_bar=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def export(self, path: str | Path | None = None) -> Path | None:
        """What DomainFeatures needs (loadable with weights_only), and how it was trained (the protocol)."""
        if (path := self.destination(path or self.hparams.export_path)) is None:
            return None
        hp = self.hparams
        network: dict[str, Any] = {"latent_dim": hp.feature_dim, "channels": hp.channels,
                                   "image_size": hp.image_size, "width": hp.width}  # fmt: skip
        trained = {"method": "SimCLR", "dataset": hp.dataset, "epochs": self.current_epoch,
                   "steps": self.global_step, "temperature": hp.temperature,
                   "crop_scale": hp.crop_scale, "jitter": list(hp.jitter),
                   "grayscale": hp.grayscale}  # fmt: skip
        torch.save(
            {"kind": "encoder", "network": NETWORK, "hparams": network, "state_dict": self.net.state_dict(),
             "trained": trained},
            path,
        )  # fmt: skip
        return path
