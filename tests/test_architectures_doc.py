"""docs/architectures.md: the DCGAN / SNGAN comparison's commands run as typed (with a budget), from a
project whose ../shared is the real one, and print the numbers its tables quote."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from conftest import BUDGET, PROJECT, SHARED_DATA, page_commands, run_command, shared
from test_recipes import CLASSIFIER, DOC_BENCHMARK

DOC = PROJECT / "docs" / "architectures.md"
BENCHMARK_BUDGET = ("--epochs", "1", "--samples", "200", "trainer.limit_train_batches=2")


def doc_commands() -> list[str]:
    return page_commands(DOC)


def test_the_comparison_runs_as_written(project: Path, classifier_file: Path, tmp_path: Path) -> None:
    shared("mnist")
    shared("fashion-mnist")
    os.symlink(SHARED_DATA.parent, tmp_path / "shared")  # the user's layout: ../shared beside the project
    shutil.copytree(PROJECT / "benchmarks", project / "benchmarks")
    commands = doc_commands()
    assert commands[0] == CLASSIFIER and commands[1] == DOC_BENCHMARK  # results.md's: run in test_recipes.py
    domain = project / ".cache" / "ganlab" / "domain"
    domain.mkdir(parents=True)
    shutil.copy2(classifier_file, domain / "mnist-28px.pt")  # what the first command leaves (a shorter one)
    printed = {}
    for command in commands[2:]:
        budget = BUDGET if command.startswith("python train.py") else BENCHMARK_BUDGET
        result = run_command(command, project, *budget)
        assert result.returncode == 0, (command, result.stderr[-3000:])
        printed[command] = result.stdout
    assert (domain / "fashion_mnist-28px.pt").is_file()  # where the experiments' --classifier looks
    _, sngan_digits, fashion_dcgan, fashion_sngan = (c for c in commands if "benchmarks" in c)
    assert re.search(r"^generated +\d", printed[sngan_digits], re.M)
    assert "model=sngan" in sngan_digits
    for command in (fashion_dcgan, fashion_sngan):  # the table's columns, from 200 samples here
        assert re.search(r"^fid [\d.]+  is [\d.]+  precision [\d.]+  recall [\d.]+", printed[command], re.M)
    assert "fashion_mnist_sngan" in fashion_sngan and "fashion_mnist_dcgan" in fashion_dcgan
