from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.extractors import make_extractor
from ganlab.metrics.features import InceptionFeatures
from ganlab.metrics.scores import GenerativeScores

__all__ = ["DomainFeatures", "GenerativeScores", "InceptionFeatures", "make_extractor"]
