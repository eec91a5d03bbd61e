from ganlab.callbacks.metrics import GenerativeMetrics
from ganlab.callbacks.samples import SampleGrids

__all__ = ["GenerativeMetrics", "SampleGrids"]
