from ganlab.models.aae import AAE
from ganlab.models.base import GAN
from ganlab.models.cgan import CGAN
from ganlab.models.classifier import Classifier
from ganlab.models.dae import DAE
from ganlab.models.domain_encoder import DomainEncoder

__all__ = ["AAE", "CGAN", "DAE", "GAN", "Classifier", "DomainEncoder"]
