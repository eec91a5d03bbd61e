"""Score a trained model or two image folders: `python evaluate.py ckpt_path=...` (see README.md)."""

from typing import Any

import hydra
from omegaconf import DictConfig

from ganlab.evaluate import evaluate
from ganlab.utils.cli import register_resolvers, run_task

register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> dict[str, Any]:
    return run_task(evaluate, cfg)


if __name__ == "__main__":
    main()
