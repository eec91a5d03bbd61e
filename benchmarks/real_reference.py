"""What real data scores under the domain protocol: the IS ceiling and FID/KID floor for generated samples.

    python benchmarks/real_reference.py --root ../shared/data/fashion-mnist --name fashion_mnist \
        --classifier .cache/ganlab/domain/fashion_mnist-28px.pt

Train the classifier first (`python train.py model=classifier data=fashion_mnist`). Prints FID / IS / KID of
real training images against the real test set, of two disjoint training subsets against each other, and of
the test set against itself, each on `--num` images, with the same code `evaluate.py` uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ganlab.data import IdxDataModule
from ganlab.metrics import DomainFeatures, GenerativeScores


def score(extractor: DomainFeatures, real: np.ndarray, fake: np.ndarray, batch: int = 500) -> dict:
    scores = GenerativeScores(extractor)
    for images, is_real in ((real, True), (fake, False)):
        for start in range(0, len(images), batch):
            scores.update(torch.from_numpy(np.array(images[start : start + batch])), real=is_real)
    return scores.compute()


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--root", type=Path, required=True, help="folder of the IDX files")
    parser.add_argument("--name", default="fashion_mnist")
    parser.add_argument("--classifier", type=Path, required=True)
    parser.add_argument("--num", type=int, default=10000)
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/ganlab/datasets"))
    args = parser.parse_args()

    def split(name: str) -> np.ndarray:
        module = IdxDataModule(args.root, args.name, split=name, download=False, cache_dir=args.cache_dir)
        return module.real_images()

    train, test = split("train"), split("test")
    order = np.random.default_rng(0).permutation(len(train))
    train_a, train_b = train[np.sort(order[: args.num])], train[np.sort(order[args.num : 2 * args.num])]
    test = test[: args.num]
    extractor = DomainFeatures(args.classifier)
    print(f"domain classifier {args.classifier} (test accuracy {extractor.test_acc:.4f}), n = {args.num}")
    rows = {
        "train subset vs test set": score(extractor, test, train_a),
        "train subset vs another train subset": score(extractor, train_b, train_a),
        "test set vs itself": score(extractor, test, test),
    }
    print(f"{'':38} {'FID':>8} {'IS (first set)':>16} {'KID':>8}")
    for name, r in rows.items():
        print(f"{name:38} {r['fid']:8.3f} {r['is']:9.3f} ± {r['is_std']:.3f} {r['kid']:8.4f}")


if __name__ == "__main__":
    main()
