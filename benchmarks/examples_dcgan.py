"""pytorch/examples' DCGAN (https://github.com/pytorch/examples/blob/main/dcgan/main.py), the baseline the
anime recipe is measured against: its networks, init, loss, optimizers and loop as they are there, on a flat
folder of images (its ImageFolder wants class sub-folders), then `--samples` images drawn as its grids are
(G in train mode, batches of `--batch-size`), saved as samples.npz (uint8 NHWC, like evaluate.py's).

    python benchmarks/examples_dcgan.py --root ../shared/data/anime-faces/images --batches 375 --out <dir>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision import transforms
from torchvision.utils import save_image

SUFFIXES = {".png", ".jpg", ".jpeg"}


class Folder(torch.utils.data.Dataset):
    def __init__(self, root: Path, size: int) -> None:
        self.files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
        self.transform = transforms.Compose([
            transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ])  # fmt: skip

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(Image.open(self.files[index]).convert("RGB"))


def weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )  # fmt: skip


def discriminator(ndf: int = 64, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )  # fmt: skip


def train(root: Path, batches: int, batch_size: int, seed: int, out: Path) -> nn.Module:
    torch.manual_seed(seed)
    data = Folder(root, 64)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
    net_g, net_d = generator(), discriminator()
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(64, 100, 1, 1)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done = 0
    while done < batches:
        for real in loader:
            net_d.zero_grad()
            label = torch.full((len(real),), 1.0)
            err_d_real = criterion(net_d(real).view(-1), label)
            err_d_real.backward()
            fake = net_g(torch.randn(len(real), 100, 1, 1))
            label.fill_(0.0)
            err_d_fake = criterion(net_d(fake.detach()).view(-1), label)
            err_d_fake.backward()
            opt_d.step()
            net_g.zero_grad()
            label.fill_(1.0)
            err_g = criterion(net_d(fake).view(-1), label)
            err_g.backward()
            opt_g.step()
            done += 1
            if done % 25 == 0:
                print(f"[{done}/{batches}] loss_d {(err_d_real + err_d_fake).item():.3f} "
                      f"loss_g {err_g.item():.3f}", flush=True)  # fmt: skip
            if done == batches:
                break
    with torch.no_grad():
        save_image(net_g(fixed_noise), out / "fake_samples.png", normalize=True)
    return net_g


@torch.no_grad()
def draw(net_g: nn.Module, n: int, batch_size: int, seed: int) -> np.ndarray:
    """`n` uint8 NHWC images, G in train mode as the script's own grids are drawn."""
    noise = torch.randn(n, 100, 1, 1, generator=torch.Generator().manual_seed(seed))
    images = torch.cat([net_g(noise[i : i + batch_size]) for i in range(0, n, batch_size)])
    return ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--batches", type=int, default=375)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    net_g = train(args.root, args.batches, args.batch_size, args.seed, args.out)
    np.savez(args.out / "samples.npz", draw(net_g, args.samples, args.batch_size, args.seed + 1))
    print(f"{args.out / 'samples.npz'}: {args.samples} samples")


if __name__ == "__main__":
    main(sys.argv[1:])
