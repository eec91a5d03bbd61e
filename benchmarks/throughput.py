"""Training and data throughput, each against a baseline run in the same process.

    python benchmarks/throughput.py [--image-dir ../shared/data/anime-faces/images] [--batches 12]

1. Training: ganlab's DCGAN step under a Lightning Trainer vs a plain PyTorch loop (pytorch/examples'
   dcgan step) on the same networks, batch and optimizers: the framework's overhead. (ganlab comes out
   ahead: toggling D's requires_grad off during the G step skips D's weight gradients, which the plain
   loop computes and throws away.)
   The loss guard (models/divergence.py: each loss tested on the device, two a batch, with no host sync;
   the flag read once per logging interval, 50 batches) is timed on its own against that step, since its
   cost is far below the run-to-run noise of the ratio.
   The fast paths, each one switch, against the same plain loop: `trainer.precision=bf16-mixed`,
   `model.compile=true`, `model.channels_last=true` (the first batches, which pay for compilation, are
   not timed). On a GPU machine the same command gives the GPU figures (`--device cuda`).
2. Data: one pass over the memory-mapped uint8 cache vs decoding the JPEGs every epoch
   (torchvision's ImageFolder with the same resize): what the cache saves per epoch; and the cache's
   self-check (size and BLAKE2b of the array), paid once per run.
3. Metrics: precision/recall/density/coverage (k-NN over all pairs) vs FID's Fréchet distance, both on
   the same 10,000 x 2048 features, i.e. what each adds after the Inception pass.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from ganlab.data import ImageFolderDataModule
from ganlab.metrics import GenerativeScores
from ganlab.models import GAN
from ganlab.models.divergence import LossGuard
from ganlab.utils.files import file_digest
from ganlab.utils.quiet import quiet_dependencies


def plain_loop(model: GAN, batches: list[torch.Tensor]) -> float:
    """pytorch/examples' dcgan step on the same networks; returns images per second."""
    opt_d, opt_g = model.configure_optimizers()
    g, d = model.generator, model.discriminator
    synchronize(model.device)
    start = time.perf_counter()
    for real in batches:
        fake = g(torch.randn(real.shape[0], model.hparams.latent_dim, device=real.device))
        opt_d.zero_grad()
        real_logits, fake_logits = d(real), d(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        loss_d = loss_d + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        gen_logits = d(fake)
        F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits)).backward()
        opt_g.step()
    synchronize(model.device)
    return len(batches) * batches[0].shape[0] / (time.perf_counter() - start)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer(L.Callback):
    """Images per second over the batches after the first `warmup` (start-up, compilation)."""

    def __init__(self, warmup: int = 1) -> None:
        self.warmup = warmup

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        synchronize(pl_module.device)
        timed = trainer.num_training_batches - self.warmup
        self.rate = timed * trainer.datamodule.batch_size / (time.perf_counter() - self.start)


class UInt8Batches(L.LightningDataModule):
    """The same uint8 batches the cached DataModules give, kept in memory."""

    def __init__(self, images: torch.Tensor, batch_size: int) -> None:
        super().__init__()
        self.images, self.batch_size = images, batch_size

    def train_dataloader(self) -> DataLoader:
        labels = torch.full((len(self.images),), -1)
        return DataLoader(TensorDataset(self.images, labels), batch_size=self.batch_size, drop_last=True)

    def on_after_batch_transfer(self, batch, dataloader_idx):
        return batch[0].float() / 127.5 - 1, batch[1]


def framework_rate(
    images: torch.Tensor,
    batch_size: int,
    accelerator: str,
    precision: str = "32-true",
    warmup: int = 1,
    **switches: bool,
) -> tuple[float, GAN]:
    """Images per second of ganlab's DCGAN under a Lightning Trainer, with the given switches."""
    timer = Timer(warmup)
    trainer = L.Trainer(
        accelerator=accelerator, devices=1, precision=precision, max_epochs=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
    )  # fmt: skip
    model = GAN(**switches)
    trainer.fit(model, UInt8Batches(images, batch_size))
    return timer.rate, model


def bench_training(batch_size: int, batches: int, device: torch.device) -> None:
    torch.manual_seed(0)
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    images = torch.randint(0, 256, ((batches + 1) * batch_size, 3, 64, 64), dtype=torch.uint8)
    float_batches = [(b.float() / 127.5 - 1).to(device) for b in images.split(batch_size)][1:]
    plain_loop(GAN().to(device), float_batches[:2])  # warm-up
    before = plain_loop(GAN().to(device), float_batches)
    rate, model = framework_rate(images, batch_size, accelerator)
    fast = {  # the first 3 batches pay for compilation (and recompiles as D's requires_grad flips)
        "trainer.precision=bf16-mixed": framework_rate(images, batch_size, accelerator, "bf16-mixed", 3)[0],
        "model.compile=true": framework_rate(images, batch_size, accelerator, warmup=3, compile=True)[0],
        "model.channels_last=true": framework_rate(images, batch_size, accelerator, warmup=3,
                                                   channels_last=True)[0],
        "all three": framework_rate(images, batch_size, accelerator, "bf16-mixed", warmup=3, compile=True,
                                    channels_last=True)[0],
    }  # fmt: skip
    after = plain_loop(GAN().to(device), float_batches)
    baseline = (before + after) / 2  # before and after: drift cancels
    where = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    )
    drift = f"plain loop {before:.1f} before, {after:.1f} after"
    print(f"training, DCGAN 64px RGB, batch {batch_size}, {where} ({drift}):")
    print(f"  plain PyTorch loop              {baseline:8.1f} img/s  (baseline)")
    print(f"  ganlab + Lightning              {rate:8.1f} img/s  ratio {rate / baseline:.2f}")
    for name, value in fast.items():
        print(f"  {name:30s}  {value:8.1f} img/s  ratio {value / baseline:.2f}")
    guard, loss, calls = LossGuard(max_loss=1e5), torch.tensor(0.7, device=device), 10_000
    synchronize(device)
    start = time.perf_counter()
    for step in range(calls):
        guard.watch("train/d_loss", loss, step)
    synchronize(device)
    watch = (time.perf_counter() - start) / calls
    start = time.perf_counter()
    for _ in range(calls // 10):
        guard.check(model)  # the one host sync, once per logging interval
    read = (time.perf_counter() - start) / (calls // 10)
    batch_time, interval = batch_size / rate, model.trainer.log_every_n_steps
    print(
        f"  loss guard           {watch * 1e6:8.1f} us a watch (two a batch), {read * 1e6:.1f} us a read "
        f"(one per {interval} batches): {(2 * watch + read / interval) / batch_time:.2e} of a batch's time"
    )


def bench_metrics(count: int, device: torch.device) -> None:
    from ganlab.metrics.manifold import precision_recall

    generator = torch.Generator().manual_seed(0)
    real = torch.randn(count, 2048, generator=generator).to(device)
    fake = (torch.randn(count, 2048, generator=generator) * 1.1 + 0.1).to(device)
    scores = GenerativeScores(torch.nn.Identity(), feature_dim=2048, prc_neighborhood=None).to(device)
    scores.update_features({"pool": real}, real=True)  # these are the features
    scores.update_features({"pool": fake, "logits": fake[:, :10]}, real=False)
    start = time.perf_counter()
    scores.fid.compute()
    synchronize(device)
    fid_time = time.perf_counter() - start
    start = time.perf_counter()
    precision_recall(real, fake, k=3)
    synchronize(device)
    prc_time = time.perf_counter() - start
    print(f"metrics after the features, {count} real and {count} generated 2048-d features, {device}:")
    print(f"  Fréchet distance (FID)                       {fid_time:9.2f} s  (baseline)")
    print(
        f"  precision/recall/density/coverage (k=3)      {prc_time:9.2f} s  ratio {prc_time / fid_time:.1f}"
    )


def bench_data(image_dir: Path, batch_size: int) -> None:
    from torchvision import datasets, transforms

    with tempfile.TemporaryDirectory() as cache:
        dm = ImageFolderDataModule(root=image_dir, image_size=64, batch_size=batch_size, cache_dir=cache)
        start = time.perf_counter()
        dm.prepare_data()
        first = time.perf_counter() - start
        dm.setup()
        start = time.perf_counter()
        count = sum(len(images) for images, _ in dm.train_dataloader())
        epoch = time.perf_counter() - start
        cached = count / epoch
        start = time.perf_counter()
        file_digest(
            dm.cache_paths()["images.npy"], "blake2b"
        )  # what a fresh process checks before trusting the cache
        verify = time.perf_counter() - start
    decode = datasets.ImageFolder(
        str(image_dir.parent),
        transforms.Compose([transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor()]),
        allow_empty=True,
    )
    loader = DataLoader(decode, batch_size=batch_size, shuffle=True, drop_last=True)
    start = time.perf_counter()
    decoded = sum(len(images) for images, _ in loader)
    rate = decoded / (time.perf_counter() - start)
    print(f"data, {image_dir} ({count} images a pass), batch {batch_size}, no workers:")
    print(f"  decode every epoch (torchvision ImageFolder)  {rate:9.0f} img/s  (baseline)")
    print(f"  ganlab uint8 cache, memory-mapped             {cached:9.0f} img/s  ratio {cached / rate:.1f}")
    print(f"  one-off cache build (threaded decode)          {first:9.1f} s")
    epochs = verify / epoch
    print(f"  cache check per run (size + BLAKE2b)           {verify:9.2f} s  ({epochs:.1f} cached epochs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--image-dir", type=Path, default=Path(__file__).parents[2] / "shared/data/anime-faces/images"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--metric-samples", type=int, default=10_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    quiet_dependencies()
    device = torch.device(args.device)
    bench_training(args.batch_size, args.batches, device)
    bench_metrics(args.metric_samples, device)
    if args.image_dir.is_dir():
        bench_data(args.image_dir, args.batch_size)
    else:
        print(f"data: skipped, {args.image_dir} is absent (pass --image-dir)")
