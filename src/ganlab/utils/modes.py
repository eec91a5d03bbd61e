"""When epoch-end work is due, and running a module in eval mode (callbacks, metrics, evaluate)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import lightning as L
from torch import nn


def epoch_is_due(trainer: L.Trainer, every_n_epochs: int) -> bool:
    """Every `every_n_epochs` epochs, and always at the last epoch or an early stop."""
    epoch = trainer.current_epoch + 1
    return epoch % every_n_epochs == 0 or epoch == trainer.max_epochs or trainer.should_stop


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """BatchNorm running statistics and no dropout while sampling; the previous mode restored after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)
