"""A terminal that shows what a user needs: the progress bar, the run directory, warnings that matter.

Dropped: Lightning's advertising tip, accelerator lines that say a CPU run has no GPU/TPU/HPU, and notices
about what ganlab handles itself (its model summary, weights-only loading, mid-epoch resumes, which
ganlab's data modules make exact); deprecation noise between dependencies.
"""

from __future__ import annotations

import logging
import os
import warnings

DROPPED_LOG_LINES = (
    "💡 Tip:",
    "GPU available: False",
    "TPU available:",
    "HPU available:",
    "Trainer already configured with model summary callbacks",
    "`weights_only` was not set",
    "`Trainer.fit` stopped:",  # printed into the progress bar's last line; ganlab's closing line follows
    "`Trainer(limit_train_batches=1.0)` was configured",  # the default, not a setting the user made
    "Experiment with name",  # MLflow's experiment made on first use ("... not found. Creating it.")
)
EMITTERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning.pytorch.trainer.connectors.checkpoint_connector",
    "lightning.pytorch.loggers.mlflow",
)
# INFO lines about the dependencies' own bookkeeping (Aim's reporter threads, MLflow's database tables, the
# ONNX exporter's graph passes)
WARNINGS_ONLY = ("aim", "mlflow", "onnx_ir", "onnxscript")
DROPPED_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\)",
    "You're resuming from a checkpoint that ended before the epoch ended",
    r"The number of training batches \(\d+\) is smaller than the logging interval",  # short budgets
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(DROPPED_LOG_LINES)


def quiet_dependencies() -> None:
    for name in EMITTERS:
        logging.getLogger(name).addFilter(_DropNoise())
    for name in WARNINGS_ONLY:
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # mlflow sets its level as it is imported
    for message in DROPPED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(lightning|torch|torchmetrics)\b")
