from ganlab.callbacks.samples import SampleGrids

__all__ = ["SampleGrids"]
