"""The trackers ganlab ships: TensorBoard and CSV (core), W&B, MLflow and Aim (extras)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from omegaconf import DictConfig, OmegaConf

from ganlab.trackers.base import Tracker, register
from ganlab.utils.images import to_uint8
from ganlab.utils.lightning_private import event_writer, flat_params
from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)


def _uint8(grid: torch.Tensor) -> Any:
    """3xHxW floats in [0, 1] as the HxWx3 uint8 array image libraries take (rounded as save_image does)."""
    return to_uint8(grid * 2 - 1).permute(1, 2, 0).cpu().numpy()


class InRunFolder(Tracker):
    """A tracker whose files live in the run folder: its run is that folder, and a resume continues there."""

    def run(self) -> dict[str, Any]:
        return {"kind": self.name, "dir": self.logger.log_dir}


@register
class TensorBoard(InRunFolder):
    name = "tensorboard"
    target = "lightning.pytorch.loggers.TensorBoardLogger"

    def hparams(self, params: dict[str, Any], metrics: tuple[str, ...] = ()) -> None:
        """Also the HPARAMS tab's summary, with the metrics to show beside them declared up front: Lightning
        writes it only together with metric values, so a running run would not be listed."""
        from torch.utils.tensorboard.summary import hparams

        self.logger.log_hyperparams(params)
        writer = event_writer(self.logger)
        for summary in hparams(flat_params(params), dict.fromkeys(metrics, 0.0)):
            writer.add_summary(summary)

    def image(self, key: str, grid: torch.Tensor, step: int) -> None:
        self.logger.experiment.add_image(key, grid, global_step=step)


@register
class CSV(InRunFolder):
    """metrics.csv and hparams.yaml; the grids are the run's samples/*.png."""

    name = "csv"
    target = "lightning.pytorch.loggers.CSVLogger"


@register
class Wandb(Tracker):
    name = "wandb"
    target = "lightning.pytorch.loggers.WandbLogger"
    package = "wandb"
    resume_key = "id"
    hint = "run `wandb login` (or set WANDB_API_KEY), or log offline: WANDB_MODE=offline"

    @classmethod
    def prepare(cls, node: DictConfig, run_name: str, sweep: str | None) -> None:
        node.name = node.get("name") or run_name
        node.group = node.get("group") or sweep
        if not node.get("offline") and os.environ.get("WANDB_MODE", "online") not in ("offline", "disabled"):
            url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
            if (why := _unreachable(url)) is not None:
                node.offline = True
                log.warning(
                    f"W&B: {url} is unreachable ({why}): logging offline into the run folder's wandb/; "
                    "upload it later with: wandb sync <run folder>/wandb/offline-run-*"
                )

    @classmethod
    def reopen(cls, node: DictConfig, run: dict[str, Any]) -> None:
        super().reopen(node, run)
        if node.get("id") == run.get("id"):
            node.resume = "allow"  # wandb.init's: continue that run, its steps after the checkpoint's

    def image(self, key: str, grid: torch.Tensor, step: int) -> None:
        self.logger.log_image(key=key, images=[_uint8(grid)], step=step)

    def config(self, path: Path) -> None:
        """Into the run's files folder, which W&B uploads (wandb.save would symlink it, and say so)."""
        shutil.copyfile(path, Path(self.logger.experiment.dir) / "config.yaml")

    def run(self) -> dict[str, Any]:
        run = self.logger.experiment
        return {"kind": self.name, "id": run.id, "name": run.name, "project": run.project,
                "group": run.group or None, "dir": run.dir}  # fmt: skip

    def close(self, status: str) -> None:
        self.logger.experiment.finish(exit_code=0 if status == "success" else 1)


def _unreachable(url: str) -> str | None:
    """Why W&B's server cannot be reached (a 3 s TCP connect), None when it can."""
    parsed = urlparse(url)
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        socket.create_connection((parsed.hostname or "", port), timeout=3).close()
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


@register
class MLflow(Tracker):
    name = "mlflow"
    target = "lightning.pytorch.loggers.MLFlowLogger"
    package = "mlflow"
    resume_key = "run_id"
    hint = "check logger.mlflow.tracking_uri (or MLFLOW_TRACKING_URI) and logger.mlflow.run_id"

    @classmethod
    def prepare(cls, node: DictConfig, run_name: str, sweep: str | None) -> None:
        node.run_name = node.get("run_name") or run_name
        if sweep:
            node.tags = {**(node.get("tags") or {}), "sweep": sweep}

    def hparams(self, params: dict[str, Any], metrics: tuple[str, ...] = ()) -> None:
        """A resumed run keeps the values it started with: MLflow refuses to change a logged parameter (a
        resume that extends trainer.max_epochs would fail), so only new ones are added."""
        client, run_id = self.logger.experiment, self.logger.run_id
        logged = client.get_run(run_id).data.params
        if logged:
            client.update_run(run_id, status="RUNNING")
        self.logger.log_hyperparams({k: v for k, v in flat_params(params).items() if k not in logged})

    def image(self, key: str, grid: torch.Tensor, step: int) -> None:
        self.logger.experiment.log_image(self.logger.run_id, _uint8(grid), key=key, step=step)

    def config(self, path: Path) -> None:
        self.logger.experiment.log_artifact(self.logger.run_id, str(path))

    def run(self) -> dict[str, Any]:
        import mlflow

        return {"kind": self.name, "id": self.logger.run_id, "experiment_id": self.logger.experiment_id,
                "tracking_uri": mlflow.get_tracking_uri()}  # fmt: skip

    def close(self, status: str) -> None:
        self.logger.finalize({"success": "FINISHED", "killed": "KILLED"}.get(status, "FAILED"))


@register
class Aim(Tracker):
    name = "aim"
    target = "aim.pytorch_lightning.AimLogger"
    package = "aim"
    resume_key = "run_hash"
    hint = "check logger.aim.repo and logger.aim.run_hash"

    @classmethod
    def prepare(cls, node: DictConfig, run_name: str, sweep: str | None) -> None:
        node.run_name = node.get("run_name") or run_name
        node.experiment = node.get("experiment") or sweep or "ganlab"

    def image(self, key: str, grid: torch.Tensor, step: int) -> None:
        import aim

        self.logger.experiment.track(aim.Image(_uint8(grid)), name=key, step=step)

    def config(self, path: Path) -> None:
        self.logger.experiment["config"] = OmegaConf.to_container(OmegaConf.load(path))

    def run(self) -> dict[str, Any]:
        return {"kind": self.name, "id": self.logger.experiment.hash, "experiment": self.logger.name,
                "repo": self.logger.save_dir}  # fmt: skip

    def close(self, status: str) -> None:
        self.logger.finalize(status)
