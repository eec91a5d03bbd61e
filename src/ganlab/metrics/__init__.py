from ganlab.metrics.features import InceptionFeatures
from ganlab.metrics.scores import GenerativeScores

__all__ = ["GenerativeScores", "InceptionFeatures"]
