"""Precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020) from k-NN balls.

Each sample's ball reaches its k-th nearest neighbour within its own set (itself not counted).
Precision: the share of generated samples inside some real ball (are the samples realistic?); recall: the
share of real samples inside some generated ball (is the data's variety covered?). Density counts how many
real balls hold each generated sample (over k), coverage the share of real balls holding one or more.
Precision and recall are torch-fidelity's `prc` (inclusive `<=`); density and coverage follow the `prdc`
package. Distances are computed in row blocks, so 10,000 x 10,000 never sits in memory at once.
"""

from __future__ import annotations

import torch

from ganlab.utils.errors import GanlabError


def _blocks(rows: torch.Tensor, columns: torch.Tensor, block: int):
    for start in range(0, len(rows), block):
        yield start, torch.cdist(rows[start : start + block], columns)


def knn_radii(features: torch.Tensor, k: int, block: int = 1000) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (the (k+1)-th smallest, itself being 0)."""
    if len(features) <= k:
        raise GanlabError(
            f"metrics.prc_neighborhood={k} needs more than {k} images in each set, not {len(features)}: "
            "raise metrics.num_samples or lower metrics.prc_neighborhood"
        )
    return torch.cat([d.kthvalue(k + 1, dim=1).values for _, d in _blocks(features, features, block)])


@torch.no_grad()
def precision_recall(
    real: torch.Tensor, fake: torch.Tensor, k: int = 3, block: int = 1000
) -> dict[str, float]:
    """{precision, recall, f_score, density, coverage} of `fake` against `real` features (N, D)."""
    real, fake = real.float(), fake.float()  # as torch-fidelity: float32 cdist on the same features
    real_radii, fake_radii = knn_radii(real, k, block), knn_radii(fake, k, block)
    in_any_real_ball = torch.zeros(len(fake), dtype=torch.bool, device=fake.device)
    real_balls_holding = torch.zeros(len(fake), dtype=torch.float64, device=fake.device)  # prdc: strict <
    real_covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    real_recalled = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for start, dist in _blocks(real, fake, block):  # (real block, all generated)
        radii = real_radii[start : start + len(dist), None]
        in_any_real_ball |= (dist <= radii).any(0)
        real_balls_holding += (dist < radii).sum(0)
        real_covered[start : start + len(dist)] = dist.min(1).values < radii[:, 0]
        real_recalled[start : start + len(dist)] = (dist <= fake_radii[None]).any(1)
    precision = float(in_any_real_ball.double().mean())
    recall = float(real_recalled.double().mean())
    return {
        "precision": precision,
        "recall": recall,
        "f_score": 2 * precision * recall / max(1e-5, precision + recall),  # torch-fidelity's definition
        "density": float(real_balls_holding.mean() / k),
        "coverage": float(real_covered.double().mean()),
    }
