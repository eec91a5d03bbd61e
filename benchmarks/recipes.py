"""Train a recipe as a user does and score it: every number in docs/results.md's tables comes from here.

    python benchmarks/recipes.py default --classifier <MNIST classifier .pt>
    python benchmarks/recipes.py fashion_mnist_dcgan --classifier <Fashion-MNIST classifier .pt>
    python benchmarks/recipes.py fashion_mnist_cgan --classifier <Fashion-MNIST classifier .pt> --epochs 15
    python benchmarks/recipes.py anime --classifier <anime domain encoder .pt> --epochs 3 [overrides]
    python benchmarks/recipes.py examples --classifier <anime domain encoder .pt> --batches 375

`default` runs `python train.py` with no arguments and scores 1,000 samples of its last.ckpt with a
classifier trained on the full MNIST training set, minus 5,000 held-out digits
(`python train.py model=classifier data=mnist data.holdout=5000`; its file is in that run's cache,
`domain/mnist-28px.pt`): the Inception Score in that classifier's space, the share of samples it
classifies with >= 90% confidence, and the share of each class; the held-out real digits are scored the
same way as the ceiling. An experiment runs `python train.py experiment=<name>` and `python evaluate.py
... metrics=domain real_split=test metrics.num_samples=10000` (FID, IS, precision, recall; class accuracy
of conditional models). `--epochs N` is a budget (`trainer.max_epochs=N`), printed with the numbers, as
are further overrides (`python benchmarks/recipes.py default model.ema_decay=0.999 ...`) to try a change.

`anime` runs `python train.py model=dcgan data=anime data.root=<--anime> seed=<--seed>` (the recipe in
conf/data_model/anime_dcgan.yaml, and the overrides given) and `examples` pytorch/examples' DCGAN
(benchmarks/examples_dcgan.py); `real` scores held-out faces, the ceiling. Each row: 2,000 samples against
2,000 random faces in the domain encoder's space (FID, KID, precision, recall, density, coverage) and the
share the anime face detector (`--detector`) finds a face in; its markdown row is printed.
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
from ganlab.utils.errors import GanlabError
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


ANIME_COLUMNS = ("fid", "kid", "precision", "recall", "density", "coverage")


def anime_row(args: argparse.Namespace, out: Path) -> None:
    """Train (unless `--out` holds a finished run), draw 2,000 images and print the scored markdown row."""
    from domain_checks import real_images  # benchmarks/, on the path when a script there runs

    from ganlab.metrics.faces import FaceDetector
    from ganlab.metrics.scores import GenerativeScores

    # The judges first: a wrong --classifier or --detector is one line before a run of minutes, not after.
    extractor, detector = DomainFeatures(args.classifier), FaceDetector(args.detector)
    faces = real_images("anime", str(args.anime), args.cache_dir)
    order = torch.randperm(len(faces), generator=torch.Generator().manual_seed(0))
    reference, held_out = faces[order[: args.samples]], faces[order[args.samples : 2 * args.samples]]
    seconds = None  # not trained here: --out held the run
    if args.recipe == "real":
        command, fake = "held-out real faces", held_out
    elif args.recipe == "examples":
        command = f"examples --batches {args.batches} --seed {args.seed}"
        if not (out / "samples.npz").exists():
            seconds = run("benchmarks/examples_dcgan.py", f"--root={args.anime}", f"--batches={args.batches}",
                          f"--seed={args.seed}", f"--samples={args.samples}", f"--out={out}")  # fmt: skip
        fake = torch.from_numpy(np.load(out / "samples.npz")["arr_0"]).permute(0, 3, 1, 2)
    else:
        budget = [f"seed={args.seed}", *([f"trainer.max_epochs={args.epochs}"] if args.epochs else [])]
        command = " ".join(["anime", *budget, *args.overrides])
        if not (out / "checkpoints/last.ckpt").exists():
            seconds = run("train.py", "model=dcgan", "data=anime", f"data.root={args.anime}", *budget,
                          *args.overrides, f"hydra.run.dir={out}")  # fmt: skip
        model, _ = load_generator(
            OmegaConf.create({"ckpt_path": str(out / "checkpoints/last.ckpt"), "device": "cpu"})
        )
        fake = torch.cat(list(generated_batches(model, args.samples, 250, seed=args.seed)))
    scores = GenerativeScores(extractor, names=("fid", "kid", "prdc"), seed=0,
                              kid_subset_size=min(1000, len(fake)))  # fmt: skip
    for images, real in ((reference, True), (fake, False)):
        for start in range(0, len(images), 250):
            scores.update(images[start : start + 250], real=real)
    values = scores.compute()
    face_rate = float(detector(fake).mean())
    cells = [f"{values[c]:.3g}" for c in ANIME_COLUMNS] + [
        f"{face_rate:.3f}",
        "" if seconds is None else f"{seconds / 60:.0f} min",
    ]
    print(f"\n{len(fake):,} images against {len(reference):,} faces, in {args.classifier}'s space\n"
          f"| `python benchmarks/recipes.py {command}` | " + " | ".join(cells) + " |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("recipe", help="default, anime, examples, real, or an experiment (conf/experiment/)")
    parser.add_argument("overrides", nargs="*", help="overrides on top of the recipe")
    parser.add_argument("--classifier", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=None, help="a budget: trainer.max_epochs")
    parser.add_argument(
        "--samples", type=int, default=None, help="how many are scored: 1,000 (default), 10,000 (experiments)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", type=Path, default=PROJECT.parent / "shared/data/mnist")
    parser.add_argument("--anime", type=Path, default=PROJECT.parent / "shared/data/anime-faces/images")
    judges = PROJECT.parent / "shared/judges"
    parser.add_argument("--detector", type=Path, default=judges / "lbpcascade_animeface.xml")
    parser.add_argument("--batches", type=int, default=375, help="examples: its training batches")
    parser.add_argument("--cache-dir", default=".cache/ganlab")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    args = parser.parse_intermixed_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "run"
        if args.recipe in ("anime", "examples", "real"):
            args.samples = args.samples or 2000
            anime_row(args, out)
        else:
            (default_recipe if args.recipe == "default" else experiment_recipe)(args, out)


if __name__ == "__main__":
    try:
        main()
    except GanlabError as error:  # a wrong file given: one line, as train.py says it
        raise SystemExit(f"error: {error}") from None
