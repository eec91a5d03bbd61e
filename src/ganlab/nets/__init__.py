from ganlab.nets.conditional import ConcatDiscriminator, ConditionalGenerator, ProjectionDiscriminator
from ganlab.nets.dcgan import (
    DCGANDiscriminator,
    DCGANEncoder,
    DCGANGenerator,
    LatentDiscriminator,
    dcgan_init,
    stages_for,
)
from ganlab.nets.interface import FeatureDiscriminator
from ganlab.nets.resnet import ResNetDiscriminator, ResNetEncoder, ResNetGenerator

__all__ = [
    "ConcatDiscriminator",
    "ConditionalGenerator",
    "DCGANDiscriminator",
    "DCGANEncoder",
    "DCGANGenerator",
    "FeatureDiscriminator",
    "LatentDiscriminator",
    "ProjectionDiscriminator",
    "ResNetDiscriminator",
    "ResNetEncoder",
    "ResNetGenerator",
    "dcgan_init",
    "stages_for",
]
