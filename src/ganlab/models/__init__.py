from ganlab.models.aae import AAE
from ganlab.models.base import GANModule
from ganlab.models.cgan import CGAN
from ganlab.models.classifier import Classifier
from ganlab.models.dae import DAE
from ganlab.models.dcgan import DCGAN

__all__ = ["AAE", "CGAN", "DAE", "DCGAN", "Classifier", "GANModule"]
