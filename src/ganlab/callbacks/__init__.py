from ganlab.callbacks.metrics import GenerativeMetrics
from ganlab.callbacks.run_config import RunConfig
from ganlab.callbacks.run_results import RunResults
from ganlab.callbacks.samples import SampleGrids

__all__ = ["GenerativeMetrics", "RunConfig", "RunResults", "SampleGrids"]
