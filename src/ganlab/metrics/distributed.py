"""Scoring under DDP: each process takes its share of the images, and every process gets all features.

The share is cut from one list of samples that does not depend on the number of processes (the same
noise, the same real subset), and gathered features are put back in that list's order, so K processes
score exactly the images, in exactly the order, that one process would.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torchmetrics.utilities.distributed import gather_all_tensors

from ganlab.utils.errors import GanlabError


def world() -> tuple[int, int]:
    """(rank, number of processes) of the default process group; (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def share(count: int) -> range:
    """This process's contiguous part of `count` samples: the first `count % K` processes take one more,
    so the parts add up to exactly `count` whatever the number of processes K."""
    rank, size = world()
    if count < size:
        raise GanlabError(
            f"metrics.num_samples={count} is fewer than the {size} processes that share it: raise it"
        )
    base, extra = divmod(count, size)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (rank < extra))


def gather_rows(local: torch.Tensor) -> torch.Tensor:
    """Every process's rows (shares may differ by one), concatenated in rank order: the shares' order."""
    if world()[1] == 1:
        return local
    return torch.cat(gather_all_tensors(local.contiguous()))


def all_true(flag: bool, device: torch.device) -> bool:
    """Whether `flag` holds on every process (so that all of them take the same branch)."""
    if world()[1] == 1:
        return flag
    value = torch.tensor(int(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())
