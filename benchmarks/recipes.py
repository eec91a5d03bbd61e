"""Train a recipe as a user does and score it: every number in docs/results.md's tables comes from here.

    python benchmarks/recipes.py default --classifier <MNIST classifier .pt>
    python benchmarks/recipes.py fashion_mnist_dcgan --classifier <Fashion-MNIST classifier .pt>
    python benchmarks/recipes.py fashion_mnist_cgan --classifier <Fashion-MNIST classifier .pt> --epochs 15

`default` runs `python train.py` with no arguments and scores 1,000 samples of its last.ckpt with a
classifier trained on the full MNIST training set, minus 5,000 held-out digits
(`python train.py model=classifier data=mnist data.holdout=5000`; its file is in that run's cache,
`domain/mnist-28px.pt`): the Inception Score in that classifier's space, the share of samples it
classifies with >= 90% confidence, and the share of each class; the held-out real digits are scored the
same way as the ceiling. An experiment runs `python train.py experiment=<name>` and `python evaluate.py
... metrics=domain real_split=test metrics.num_samples=10000` (FID, IS, precision, recall; class accuracy
of conditional models). `--epochs N` is a budget (`trainer.max_epochs=N`), printed with the numbers, as
are further overrides (`python benchmarks/recipes.py default model.ema_decay=0.999 ...`) to try a change.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from ganlab.data import IdxDataModule
from ganlab.metrics import DomainFeatures, GenerativeScores
from ganlab.metrics.evaluation import generated_batches
from ganlab.utils.restore import load_generator

PROJECT = Path(__file__).resolve().parents[1]
CONFIDENT = 0.9


def run(*args: str) -> float:
    """A command in the project root, its output shown; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=PROJECT, check=True)
    return time.perf_counter() - start


def digit_scores(images: torch.Tensor, classifier: DomainFeatures) -> dict[str, float]:
    """IS (10 splits, as everywhere in ganlab), the confident share and the class shares of uint8 digits."""
    features = classifier(images)  # one pass feeds IS and the confidence figures
    scores = GenerativeScores(classifier, is_splits=10, prc_neighborhood=None)
    scores.update_features(features, real=False)
    with torch.random.fork_rng(devices=[]):  # IS splits drawn as GenerativeScores.compute draws them
        torch.manual_seed(scores.seed)
        inception_score = float(scores.inception_score.compute()[0])
    probabilities = features["logits"].softmax(1)
    shares = torch.bincount(probabilities.argmax(1), minlength=10).float() / len(images)
    return {
        "is": inception_score,
        "confident": float((probabilities.max(1).values >= CONFIDENT).float().mean()),
        "min_class_share": float(shares.min()),
        "max_class_share": float(shares.max()),
    }


def default_recipe(args: argparse.Namespace, out: Path) -> None:
    budget = [f"trainer.max_epochs={args.epochs}"] if args.epochs else []
    budget += args.overrides
    seconds = run("train.py", f"hydra.run.dir={out}", *budget)
    model, _ = load_generator(
        OmegaConf.create({"ckpt_path": str(out / "checkpoints/last.ckpt"), "device": "cpu"})
    )
    args.samples = args.samples or 1000
    fake = torch.cat(list(generated_batches(model, args.samples, 250, seed=args.seed)))
    classifier = DomainFeatures(args.classifier)
    held = IdxDataModule(args.mnist, "mnist", download=False, holdout=5000, cache_dir=out / "cache")
    real = torch.from_numpy(np.asarray(held.test_split().real_images()[: args.samples]))
    accuracy = "untested" if classifier.test_acc is None else f"{classifier.test_acc:.4f}"
    print(f"\n`python train.py`{' ' + ' '.join(budget) if budget else ''}: {seconds:.0f} s on "
          f"{torch.get_num_threads()} threads; {args.samples} samples (seed {args.seed}) scored by "
          f"{args.classifier} (accuracy on held-out digits {accuracy})")  # fmt: skip
    print(f"{'':24} {'IS':>6} {'>= 90% sure':>12} {'class shares':>14}")
    for name, images in (("generated", fake), ("held-out real digits", real)):
        s = digit_scores(images, classifier)
        shares = f"{s['min_class_share']:6.3f}-{s['max_class_share']:.3f}"
        print(f"{name:24} {s['is']:6.2f} {s['confident']:12.3f} {shares}")


def experiment_recipe(args: argparse.Namespace, out: Path) -> None:
    budget = [f"trainer.max_epochs={args.epochs}"] if args.epochs else []
    budget += args.overrides
    seconds = run("train.py", f"experiment={args.recipe}", f"hydra.run.dir={out}", *budget)
    samples = args.samples or 10000
    run("evaluate.py", f"ckpt_path={out / 'checkpoints/last.ckpt'}", "metrics=domain", "real_split=test",
        f"metrics.num_samples={samples}", f"metrics.classifier={args.classifier}",
        f"hydra.run.dir={out / 'eval'}")  # fmt: skip
    result = json.loads((out / "eval/metrics.json").read_text())
    print(f"\nexperiment={args.recipe}{' ' + ' '.join(budget) if budget else ''}: {seconds:.0f} s training; "
          f"{samples:,} samples vs {samples:,} test images, domain features ({args.classifier})")  # fmt: skip
    line = {name: result[name]["value"] for name in ("fid", "is", "precision", "recall")}
    if "conditional" in result:
        line["class_accuracy"] = result["conditional"]["class_accuracy"]
    print("  ".join(f"{k} {v:.4f}" for k, v in line.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("recipe", help="default, or an experiment name (conf/experiment/)")
    parser.add_argument("overrides", nargs="*", help="overrides on top of the recipe")
    parser.add_argument("--classifier", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=None, help="a budget: trainer.max_epochs")
    parser.add_argument(
        "--samples", type=int, default=None, help="how many are scored: 1,000 (default), 10,000 (experiments)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", type=Path, default=PROJECT.parent / "shared/data/mnist")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    args = parser.parse_intermixed_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "run"
        (default_recipe if args.recipe == "default" else experiment_recipe)(args, out)


if __name__ == "__main__":
    main()
