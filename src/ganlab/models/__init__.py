from ganlab.models.base import GANModule
from ganlab.models.dcgan import DCGAN

__all__ = ["DCGAN", "GANModule"]
