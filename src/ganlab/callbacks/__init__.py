from ganlab.callbacks.best_checkpoint import BestCheckpoint
from ganlab.callbacks.core_share import CoreShare
from ganlab.callbacks.disk_space import DiskSpace
from ganlab.callbacks.last_checkpoint import LastCheckpoint
from ganlab.callbacks.metrics import GenerativeMetrics
from ganlab.callbacks.model_summary import ModelSummary
from ganlab.callbacks.run_config import RunConfig
from ganlab.callbacks.run_results import RunResults
from ganlab.callbacks.samples import SampleGrids
from ganlab.callbacks.stop_on_signal import StopOnSignal

__all__ = [
    "BestCheckpoint",
    "CoreShare",
    "DiskSpace",
    "GenerativeMetrics",
    "LastCheckpoint",
    "ModelSummary",
    "RunConfig",
    "RunResults",
    "SampleGrids",
    "StopOnSignal",
]
