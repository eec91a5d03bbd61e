"""Domain features: a classifier trained on the labelled dataset itself (how MNIST-like GANs are judged), or a
self-supervised encoder trained on the unlabelled images (model=simclr), from the file either wrote."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganlab.metrics.features import FeatureExtractor
from ganlab.nets.classifier import DomainClassifier
from ganlab.nets.dcgan import DCGANEncoder
from ganlab.utils.errors import GanlabError
from ganlab.utils.files import sha256_of
from ganlab.utils.images import to_unit_range


class DomainFeatures(FeatureExtractor):
    """uint8 images at the data's own resolution -> classifier features (FID, KID) and logits (IS)."""

    def __init__(self, classifier_path: str | os.PathLike) -> None:
        super().__init__()
        self.path = Path(classifier_path)
        if not self.path.is_file():
            raise GanlabError(
                f"no domain classifier at '{self.path}': train one with `python train.py model=classifier "
                "data=<the same dataset>` or pass metrics.classifier=<its .pt file>"
            )
        saved = torch.load(self.path, map_location="cpu", weights_only=True)
        self.encoder = saved.get("kind") == "encoder"  # features only: no class logits, no IS
        self.has_logits = not self.encoder
        self.trained = saved.get("trained")
        if self.encoder:
            self.net = DCGANEncoder(**saved["hparams"])
            built = {"feature_dim": saved["hparams"]["latent_dim"], "num_classes": None} | saved["hparams"]
        else:
            self.net = DomainClassifier(**saved["hparams"])
            # DomainClassifier's own defaults for what the file leaves out
            defaults = {"channels": 1, "image_size": 28, "num_classes": 10, "feature_dim": 128}
            built = defaults | saved["hparams"]
        self.net.load_state_dict(saved["state_dict"])
        self.net.eval().requires_grad_(False)
        self.test_acc = saved.get("test_acc")
        self.num_features, self.num_classes = built["feature_dim"], built["num_classes"]
        self.input_shape = (built["channels"], built["image_size"], built["image_size"])

    def train(self, mode: bool = True) -> DomainFeatures:
        return super().train(False)  # always in eval mode: BatchNorm statistics and dropout stay fixed

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.dtype != torch.uint8:
            raise GanlabError(f"domain features take uint8 images in [0, 255], not {images.dtype}")
        if tuple(images.shape[1:]) != self.input_shape:
            channels, size, _ = self.input_shape
            raise GanlabError(
                f"the domain classifier {self.path} takes {channels}x{size}x{size} images, not "
                f"{'x'.join(map(str, images.shape[1:]))}: pass metrics.classifier=<a classifier trained on "
                "these images> (python train.py model=classifier data=<the dataset> data.image_size=<size>)"
            )
        x = to_unit_range(images)  # as in training
        if self.encoder:  # on the sphere its training compared them on, scaled to unit variance per feature
            return {"pool": F.normalize(self.net(x), dim=1) * self.num_features**0.5}
        pool = self.net.features(x)
        return {"pool": pool, "logits": self.net.head(pool)}

    def protocol(self) -> dict[str, Any]:
        if self.encoder:
            kind = f"self-supervised domain encoder: {self.num_features}-d features, length sqrt(d) (no IS)"
        else:
            kind = f"domain classifier: {self.num_features}-d penultimate layer, logits for IS"
        return {
            "feature_extractor": kind,
            "trained": self.trained,  # the encoder's: method, dataset, epochs, steps
            "weights_file": str(self.path),
            "weights_sha256": sha256_of(self.path),
            "classifier_test_accuracy": self.test_acc,
            "resize": "none (the dataset's own resolution)",
            "input": "uint8, scaled to [-1, 1] as in training",
        }
