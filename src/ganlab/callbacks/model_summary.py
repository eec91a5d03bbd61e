"""Lightning's rich model summary without the columns that say nothing for a GAN.

Lightning counts FLOPs only for a model with an `example_input_array`; a GAN has two networks and no single
input, so its table would carry a column of zeros and "Total FLOPs: 0". Those appear only when counted.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary.model_summary import (
    get_formatted_model_size,
    get_human_readable_count,
)

RIGHT_ALIGNED = {"Params", "Params per Device", "FLOPs", "In sizes", "Out sizes"}


class ModelSummary(RichModelSummary):
    """The layers, their parameters and modes; FLOPs only when Lightning counted some."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        from rich import get_console
        from rich.table import Table

        columns = [(name, values) for name, values in summary_data if total_flops or name != "FLOPs"]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        for name, _ in columns:
            right = name in RIGHT_ALIGNED
            table.add_column(
                name, justify="right" if right else "left", style="dim" if name == " " else None,
                no_wrap=name == "Name",
            )  # fmt: skip
        for row in zip(*(values for _, values in columns), strict=True):
            table.add_row(*row)
        totals = [
            ("Trainable params", get_human_readable_count(int(trainable_parameters))),
            ("Non-trainable params", get_human_readable_count(int(total_parameters - trainable_parameters))),
            ("Total params", get_human_readable_count(int(total_parameters))),
            ("Total estimated model params size (MB)", get_formatted_model_size(model_size)),
            ("Modules in train mode", total_training_modes["train"]),
            ("Modules in eval mode", total_training_modes["eval"]),
        ]
        if total_flops:
            totals.append(("Total FLOPs", get_human_readable_count(total_flops)))
        grid = Table.grid(expand=True)
        grid.add_column()
        for name, value in totals:
            grid.add_row(f"[bold]{name}[/]: {value}")
        console = get_console()
        console.print(table)
        console.print(grid)
