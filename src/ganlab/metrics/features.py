"""Feature extractors for FID / IS / KID, each reporting the protocol its numbers were made under."""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from ganlab.utils.errors import GanlabError
from ganlab.utils.files import sha256_of


class FeatureExtractor(nn.Module):
    """uint8 images -> {"pool": features for FID/KID, "logits": for IS}, and the protocol its numbers were
    made under (written beside every number). Any nn.Module returning that dict can score; this one's
    protocol goes into metrics.json and the real-statistics cache key."""

    num_features: int
    has_logits: bool = True  # False: no "logits" (a feature space without classes: no IS)

    def protocol(self) -> dict[str, Any]:
        raise NotImplementedError


class InceptionFeatures(FeatureExtractor):
    """torch-fidelity's TF-Inception (`inception-v3-compat`): the reference FID/IS/KID protocol.

    uint8 images in, TF1-compatible bilinear resize to 299 px inside, pool3 features (2048) for FID and
    KID and unbiased logits (1008) for IS from one forward pass. 1-channel images are repeated to 3.
    Weights: `weights_path`, else torch-fidelity's download (cached by torch.hub).
    """

    def __init__(self, weights_path: str | os.PathLike | None = None) -> None:
        super().__init__()
        if weights_path is not None and not Path(weights_path).is_file():
            raise GanlabError(f"metrics.inception_weights='{weights_path}' is not a file")
        try:
            self.net = FeatureExtractorInceptionV3(
                "inception-v3-compat",
                ["2048", "logits_unbiased"],
                feature_extractor_weights_path=None if weights_path is None else str(weights_path),
            )
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            raise GanlabError(
                f"the Inception weights could not be downloaded ({type(err).__name__}: {err}): go online "
                f"once (torch.hub caches them) or download {URL_INCEPTION_V3} yourself and pass "
                "metrics.inception_weights=<that file>"
            ) from None
        if weights_path is None:
            weights_path = Path(torch.hub.get_dir()) / "checkpoints" / Path(URL_INCEPTION_V3).name
        self.weights_path = Path(weights_path)
        self.num_features = 2048

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.dtype != torch.uint8:
            raise GanlabError(f"Inception features take uint8 images in [0, 255], not {images.dtype}")
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        pool, logits = self.net(images)
        return {"pool": pool, "logits": logits}

    def protocol(self) -> dict[str, Any]:
        return {
            "feature_extractor": "torch-fidelity inception-v3-compat (TF-Inception)",
            "weights_file": str(self.weights_path),
            "weights_sha256": sha256_of(self.weights_path) if self.weights_path.is_file() else None,
            "resize": "TF1-compatible bilinear to 299x299, antialias off (torch-fidelity)",
            "input": "uint8 RGB; 1-channel images repeated to 3",
        }
