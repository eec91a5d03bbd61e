"""Train a generative model: `python train.py model=dcgan data=anime` (see README.md)."""

import hydra
from omegaconf import DictConfig

from ganlab.train import train
from ganlab.utils.cli import register_resolvers, run_task

register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    return run_task(train, cfg)


if __name__ == "__main__":
    main()
