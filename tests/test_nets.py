"""DCGAN networks: every supported resolution and variant produces the right shapes and initial weights."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from ganlab.nets import (
    ConcatDiscriminator,
    ConditionalGenerator,
    DCGANDiscriminator,
    DCGANEncoder,
    DCGANGenerator,
    LatentDiscriminator,
    ProjectionDiscriminator,
    stages_for,
)
from ganlab.utils.errors import GanlabError


@pytest.mark.parametrize(
    ("size", "channels", "upsample", "dense_first"),
    list(itertools.product([28, 32, 64, 128], [1, 3], ["transposed", "nearest"], [False, True])),
)
def test_shapes_at_every_resolution(size: int, channels: int, upsample: str, dense_first: bool) -> None:
    g = DCGANGenerator(
        latent_dim=12, channels=channels, image_size=size, width=4, upsample=upsample, dense_first=dense_first
    )
    d = DCGANDiscriminator(channels=channels, image_size=size, width=4, dropout=0.3)
    images = g(torch.randn(2, 12))
    assert images.shape == (2, channels, size, size)
    assert images.abs().max() <= 1  # tanh output, the range the data is normalised to
    assert d(images).shape == (2,)


@pytest.mark.parametrize(("size", "channels"), list(itertools.product([28, 32, 64, 128], [1, 3])))
def test_conditional_and_autoencoder_shapes_at_every_resolution(size: int, channels: int) -> None:
    labels = torch.tensor([0, 4])
    g = ConditionalGenerator(DCGANGenerator(15, channels, size, width=4), num_classes=5, embed_dim=3)
    images = g(torch.randn(2, 12), labels)
    assert images.shape == (2, channels, size, size)
    concat = ConcatDiscriminator(DCGANDiscriminator(channels + 1, size, width=4), 5, size)
    projection = ProjectionDiscriminator(DCGANDiscriminator(channels, size, width=4), 5)
    for d in (concat, projection):
        assert d(images, labels).shape == (2,)
    codes = DCGANEncoder(latent_dim=12, channels=channels, image_size=size, width=4)(images)
    assert codes.shape == (2, 12)  # what the AAE's and DAE's decoder (a DCGAN generator) takes back
    assert LatentDiscriminator(12, hidden=8)(codes).shape == (2,)


@pytest.mark.parametrize(("size", "extra"), [(28, 1), (64, 2)])
def test_extra_convs_add_3x3_layers_at_every_resolution(size: int, extra: int) -> None:
    """`extra_convs` 3x3 stride-1 layers at each resolution G and D pass through; shapes are kept."""
    g = DCGANGenerator(latent_dim=12, channels=1, image_size=size, width=4, extra_convs=extra)
    d = DCGANDiscriminator(channels=1, image_size=size, width=4, extra_convs=extra, spectral_norm=True)
    images = g(torch.randn(2, 12))
    assert images.shape == (2, 1, size, size) and d(images).shape == (2,)
    _, stages = stages_for(size)
    for net in (g, d):
        refining = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
        assert len(refining) == extra * stages  # every resolution but the image's own
        assert all(m.in_channels == m.out_channels and m.stride == (1, 1) for m in refining)
    assert all(
        "weight" in m.parametrizations for m in d.modules() if isinstance(m, nn.Conv2d)
    )  # spectral norm reaches the added convs too
    plain = DCGANGenerator(latent_dim=12, channels=1, image_size=size, width=4)
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in plain.modules())


def test_radford_layout_at_64px() -> None:
    """The pytorch/examples DCGAN: 512-256-128-64 feature maps, 3.58M G and 2.77M D parameters."""
    g, d = DCGANGenerator(), DCGANDiscriminator()
    assert sum(p.numel() for p in g.parameters()) == 3_576_704
    assert sum(p.numel() for p in d.parameters()) == 2_765_568
    convs = [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert convs == [512, 256, 128, 64, 3]


def test_normal_002_init() -> None:
    g = DCGANGenerator(width=32)
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(weights.std().item() - 0.02) < 0.001 and abs(weights.mean().item()) < 0.001
    bn = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1.0) < 0.01


def test_leaky_slope_and_dropout_reach_the_discriminator() -> None:
    d = DCGANDiscriminator(width=4, leaky_slope=0.3, dropout=0.25)
    assert {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)} == {0.3}
    assert {m.p for m in d.modules() if isinstance(m, nn.Dropout)} == {0.25}
    assert not any(isinstance(m, nn.Dropout) for m in DCGANDiscriminator(width=4).modules())


def test_stages_and_unsupported_sizes() -> None:
    assert [stages_for(s) for s in (28, 32, 64, 128)] == [(7, 2), (4, 3), (4, 4), (4, 5)]
    with pytest.raises(GanlabError, match=r"data\.image_size=48"):
        stages_for(48)


def test_projection_adds_the_label_embedding_inner_product_to_any_declared_head() -> None:
    """logit(features) + <embed(label), features>, on the features the discriminator declares."""
    d = ProjectionDiscriminator(DCGANDiscriminator(1, 28, width=4), num_classes=3)
    images, labels = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 1])
    features = d.net.features(images)
    expected = d.net(images) + (d.embed.weight[labels] * features).sum(1)
    torch.testing.assert_close(d(images, labels), expected)
    with pytest.raises(GanlabError, match="projection needs a discriminator that declares its features"):
        ProjectionDiscriminator(LatentDiscriminator(4), num_classes=3)
