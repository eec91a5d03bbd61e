from ganlab.callbacks.last_checkpoint import LastCheckpoint
from ganlab.callbacks.metrics import GenerativeMetrics
from ganlab.callbacks.run_config import RunConfig
from ganlab.callbacks.run_results import RunResults
from ganlab.callbacks.samples import SampleGrids

__all__ = ["GenerativeMetrics", "LastCheckpoint", "RunConfig", "RunResults", "SampleGrids"]
