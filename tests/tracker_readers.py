"""Read a run back from each tracker with that tool's own reader (no network): W&B's offline transaction log
decoded with wandb's protobuf records, MLflow's client on the local store, Aim's Repo."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024  # the .wandb file is a LevelDB-style log: 7-byte chunk headers within 32 KiB blocks


def wandb_runs(run_dir: Path) -> list[dict[str, Any]]:
    """Each offline W&B run below `run_dir/wandb`, oldest first: its id, group, name, config and history."""
    from wandb.proto import wandb_internal_pb2 as pb

    runs = []
    for log in sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb")):
        data, pos, chunk = log.read_bytes(), 7, b""  # after the ":W&B" header
        run: dict[str, Any] = {"history": [], "dir": log.parent, "config": {}, "exited": False}
        while pos + 7 <= len(data):
            if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a header is padding
                pos += BLOCK - pos % BLOCK
                continue
            _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
            chunk += data[pos + 7 : pos + 7 + length]
            pos += 7 + length
            if kind not in (1, 4):  # FIRST / MIDDLE chunks of a longer record
                continue
            record = pb.Record()
            record.ParseFromString(chunk)
            chunk = b""
            which = record.WhichOneof("record_type")
            if which == "run":
                info = record.run
                run |= {"id": info.run_id, "group": info.run_group, "name": info.display_name}
                run["config"] |= {u.key: json.loads(u.value_json) for u in record.run.config.update}
            elif which == "config":
                run["config"] |= {u.key: json.loads(u.value_json) for u in record.config.update}
            elif which == "exit":  # wandb.finish()
                run["exited"] = True
            elif which == "history":
                row = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
                run["history"].append(row)
        runs.append(run)
    return runs


def mlflow_client(log_dir: Path) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{log_dir / 'mlflow.db'}")


def aim_run(log_dir: Path, run_hash: str) -> Any:
    import aim

    return aim.Repo(str(log_dir)).get_run(run_hash)
