"""Check a domain feature space before trusting its numbers: docs/metrics.md's table comes from here.

    python benchmarks/domain_checks.py --encoder .cache/ganlab/domain/anime-64px.pt --root <the faces>

Half of `--count` random images of the dataset are the reference, the other half the held-out real set; it
and four corruptions of it (colour-shifted, blurred, cut into shuffled tiles, collapsed to 50 images) are
scored against the reference: FID, KID, precision, recall, density, coverage. With two or more encoders
(`--encoder a.pt --encoder b.pt`: e.g. trained with different seeds), the rank correlation of their FIDs
over the five sets says whether they agree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from scipy.stats import spearmanr

from ganlab.metrics.checks import space_report
from ganlab.metrics.domain import DomainFeatures
from ganlab.utils.cli import register_resolvers

COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage")


def real_images(data: str, root: str | None, cache_dir: str) -> torch.Tensor:
    """The dataset's training images as ganlab decodes them (conf/data/<data>.yaml), uint8 NCHW."""
    register_resolvers()
    overrides = [f"data={data}", f"paths.cache_dir={cache_dir}", *([f"data.root={root}"] if root else [])]
    with initialize_config_dir(str(Path(__file__).resolve().parents[1] / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    return torch.from_numpy(np.array(hydra.utils.instantiate(cfg.data).real_images()))


def main(argv: list[str] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--encoder", action="append", required=True, help="a domain encoder (.pt)")
    parser.add_argument("--data", default="anime")
    parser.add_argument("--root", default=None, help="data.root, where the dataset's images are")
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--cache-dir", default=".cache/ganlab")
    args = parser.parse_args(argv)
    images = real_images(args.data, args.root, args.cache_dir)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[: args.count]
    half = len(order) // 2
    reference, held_out = images[order[:half]], images[order[half:]]
    reports = {}
    for path in args.encoder:
        report = space_report(DomainFeatures(path), reference, held_out)
        reports[path] = report
        print(f"\n{path}: {half} held-out real images (and corruptions of them) against {half} others\n")
        print("| set | " + " | ".join(COLUMNS) + " |\n" + "|---" * (len(COLUMNS) + 1) + "|")
        for name, values in report.items():
            print(f"| {name} | " + " | ".join(f"{values[c]:.3g}" for c in COLUMNS) + " |")
    if len(reports) > 1:
        fids = [[values["fid"] for values in report.values()] for report in reports.values()]
        rho = spearmanr(fids[0], fids[1]).statistic
        print(f"\nrank correlation of the first two encoders' FIDs over the {len(fids[0])} sets: {rho:.3f}")
    return reports


if __name__ == "__main__":
    main(sys.argv[1:])
