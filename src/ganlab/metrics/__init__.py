from ganlab.metrics.domain import DomainFeatures
from ganlab.metrics.extractors import make_extractor
from ganlab.metrics.features import InceptionFeatures
from ganlab.metrics.registry import MetricInputs, register_metric
from ganlab.metrics.scores import GenerativeScores

__all__ = [
    "DomainFeatures",
    "GenerativeScores",
    "InceptionFeatures",
    "MetricInputs",
    "make_extractor",
    "register_metric",
]
