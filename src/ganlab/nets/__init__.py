from ganlab.nets.conditional import ConditionalDiscriminator, ConditionalGenerator
from ganlab.nets.dcgan import (
    DCGANDiscriminator,
    DCGANEncoder,
    DCGANGenerator,
    LatentDiscriminator,
    dcgan_init,
    stages_for,
)

__all__ = [
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "DCGANDiscriminator",
    "DCGANEncoder",
    "DCGANGenerator",
    "LatentDiscriminator",
    "dcgan_init",
    "stages_for",
]
