"""What a user sees and copies: a quiet terminal with the run folder at the start and one closing line,
and sweep job paths that paste into any command as printed."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from conftest import BUDGET, PROJECT, run_command
from test_sweeps import readme_commands, the_sweep

NOISE = (
    "`Trainer(limit_train_batches=1.0)` was configured",  # the default, not the user's setting
    "is smaller than the logging interval",  # a short budget, as every test and first try has
    "`Trainer.fit` stopped:",  # glued to the progress bar's last line
    "Traceback",
    "FLOPs",  # Lightning counts none for a model without example_input_array: a column of zeros
)


def test_a_default_run_starts_with_its_folder_and_ends_with_one_closing_line(project: Path) -> None:
    result = run_command("python train.py", project, *BUDGET)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert not [noise for noise in NOISE if noise in output], output[-3000:]
    assert "Total params" in output  # the model summary, less its empty FLOPs column
    [run] = (project / "outputs" / "train" / "runs").iterdir()
    assert f"run directory: {run} (watch it: tensorboard --logdir {run})" in output
    closing = [line for line in result.stdout.splitlines() if "ganlab.train" in line][-1]
    last = run / "checkpoints" / "last.ckpt"
    evaluate = f"evaluate: python evaluate.py ckpt_path={last}"
    assert closing.endswith(f"done: {run} (checkpoints/, samples/); {evaluate}"), closing


def test_a_sweep_jobs_checkpoint_pastes_into_evaluate_and_train_as_printed(project: Path) -> None:
    swept = run_command("python train.py -m model.lr=1e-4,2e-4", project, *BUDGET)
    assert swept.returncode == 0, swept.stderr[-3000:]
    printed = re.findall(r"evaluate: (python evaluate\.py ckpt_path=\S+)", swept.stdout)
    assert len(printed) == 2, swept.stdout[-3000:]
    job = Path(printed[0].split("ckpt_path=")[1]).parents[1]
    assert job.parent == the_sweep(project) and "=" not in job.name and "," not in job.name
    evaluated = run_command(printed[0] + " task=interpolate", project)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert list((project / "outputs").glob("evaluate/runs/*/interpolate_*.png"))
    resumed = run_command(
        f"python train.py {printed[0].split(' ', 2)[2]} hydra.run.dir={job}", project,
        "trainer.max_epochs=2", "trainer.limit_train_batches=2",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (job / "attempts" / "1" / "results.json").is_file()  # the sweep's attempt, kept


QUICK = 'python -m pytest -m "not subprocess and not slow"'


def test_the_quick_loop_leaves_out_every_test_that_spawns_processes() -> None:
    """The README's quick command, collected only (running it here would run the suite twice)."""
    assert QUICK in readme_commands()
    collected = run_command(QUICK, PROJECT, "--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout[-3000:]
    tests = [line for line in collected.stdout.splitlines() if "::" in line]
    assert len(tests) > 150  # the core: models, nets, data, metrics, settings, in-process runs
    assert not [t for t in tests if t.startswith(("tests/test_signals.py", "tests/test_disk.py"))]
    assert "tests/test_faults.py::test_a_damaged_cache_file_is_named_and_rebuilt[truncated]" in tests


def test_the_model_summary_shows_flops_only_when_counted(capsys) -> None:
    """Lightning counts FLOPs for a model with an example_input_array: then the column and total are back."""
    import lightning as L
    from torch import nn

    from ganlab.callbacks import ModelSummary

    class Counted(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(8, 4)
            self.example_input_array = torch.zeros(2, 8)

        def forward(self, x):
            return self.layer(x)

    class Uncounted(Counted):
        def __init__(self) -> None:
            super().__init__()
            self.example_input_array = None

    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    for model, shown in ((Counted(), True), (Uncounted(), False)):
        ModelSummary(max_depth=1).on_fit_start(trainer, model)
        printed = capsys.readouterr().out
        assert "Total params" in printed and ("FLOPs" in printed) is shown, printed
        if shown:
            assert re.search(r"Total FLOPs: [1-9]", printed)
