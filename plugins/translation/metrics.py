"""Image-translation metrics: paired L1/PSNR/SSIM, and FID/KID-style distances with a pluggable extractor.

Feature extractors (``--features``):

- ``inception``: torchvision's InceptionV3 pool features (2048-d), the network of FID/KID. Its
  weights are never downloaded: they are read from ``$GANAPPS_INCEPTION_WEIGHTS`` or from torch's
  hub cache (``<torch hub dir>/checkpoints/inception_v3_google-0cc3c7bd.pth``, the file
  ``torchvision.models.inception_v3(weights="DEFAULT")`` downloads). Values are reported as
  ``fid``/``kid``; torchvision's port differs slightly from the TF-Inception of published FIDs.
- ``random-cnn``: an offline stand-in, a fixed convolutional network with seeded random weights
  (no training, no download; random conv features track colour and texture statistics).
  Reported as ``fd_random_cnn``/``kd_random_cnn`` — Fréchet/kernel distances, *not* FID/KID.
- ``auto`` (default): inception when its weights are on this machine, else random-cnn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganapps.core.data import batched
from ganapps.core.errors import ConfigError
from ganapps.core.meanings import Better, MetricMeaning
from ganapps.core.metrics import frechet_distance, kernel_distance, psnr, ssim

FeatureKind = Literal["auto", "inception", "random-cnn"]
INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"


# ------------------------------------------------------------------ paired metrics
def l1(output: Tensor, target: Tensor) -> float:
    """Mean absolute error in [0, 1] pixel units."""
    return float((output.float() - target.float()).abs().mean() / 2)


def paired_metrics(output: Tensor, target: Tensor) -> dict[str, float]:
    return {"l1": l1(output, target), "psnr": psnr(output, target), "ssim": ssim(output, target)}


# --------------------------------------------------------------- feature extractors
class RandomCNN(nn.Module):
    """The offline extractor: 4 stride-2 conv layers with fixed seeded random weights, then the
    mean and standard deviation of each of the last 128 feature maps (256-d). Images are resized to 64×64."""

    def __init__(self, seed: int = 20170101) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        widths = [3, 32, 64, 128, 128]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, 2, 1) for a, b in zip(widths, widths[1:], strict=False))
        with torch.no_grad():
            for conv in self.convs:
                fan_in = conv.in_channels * 9
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                conv.bias.zero_()
        self.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x.float(), size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)


class InceptionFeatures(nn.Module):
    """torchvision InceptionV3 with local weights; 2048-d pool features of 299×299 inputs."""

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        net.fc = nn.Identity()
        self.net = net.eval().requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        # torchvision's weights expect ImageNet-normalised input; transform_input maps it to [-1, 1] scaling
        mean = torch.tensor([0.485, 0.456, 0.406], device=x.device)[:, None, None]
        std = torch.tensor([0.229, 0.224, 0.225], device=x.device)[:, None, None]
        x = F.interpolate((x.float() + 1) / 2, size=(299, 299), mode="bilinear", align_corners=False)
        return self.net((x - mean) / std)


def inception_weights() -> Path:
    """Where InceptionV3 weights are looked for (they may not exist)."""
    env = os.environ.get("GANAPPS_INCEPTION_WEIGHTS")
    if env:
        return Path(env).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def check_features(kind: FeatureKind) -> None:
    """Refuse ``inception`` at once (before training) when its weights are not on this machine."""
    path = inception_weights()
    if kind == "inception" and not path.is_file():
        raise ConfigError(
            f"option --features inception: no InceptionV3 weights at {path}; ganapps never downloads them. "
            f"Copy torchvision's {INCEPTION_FILE} there or set GANAPPS_INCEPTION_WEIGHTS=FILE, "
            "or use --features random-cnn"
        )


class Extractor:
    """A feature extractor with the names its distances are reported under."""

    def __init__(self, kind: FeatureKind) -> None:
        check_features(kind)
        path = inception_weights()
        self.kind = "inception" if kind == "inception" or (kind == "auto" and path.is_file()) else "random-cnn"
        self.net: nn.Module = InceptionFeatures(path) if self.kind == "inception" else RandomCNN()
        self.fd, self.kd = ("fid", "kid") if self.kind == "inception" else ("fd_random_cnn", "kd_random_cnn")

    @property
    def note(self) -> str:
        if self.kind == "inception":
            return (
                f"fid/kid use torchvision's InceptionV3 ({inception_weights()}); close to, but not identical with, "
                "the TF-Inception FID of published tables; few held-out images make them noisy."
            )
        return (
            "fd_random_cnn/kd_random_cnn are Fréchet/kernel distances in the features of a fixed random CNN: an "
            "offline stand-in, NOT FID/KID (no InceptionV3 weights on this machine; see docs/translation.md). "
            "Compare them only with each other, e.g. with the untrained generator's and the real-vs-real floor."
        )

    @torch.no_grad()
    def features(self, images: Tensor, device: torch.device) -> Tensor:
        self.net.to(device).eval()
        out = [self.net(images[a:b].to(device)).float().cpu() for a, b in batched(len(images), 64)]
        return torch.cat(out)

    def distances(self, fake: Tensor, real: Tensor, device: torch.device) -> dict[str, float]:
        """Fréchet and kernel distances between two image sets (in [-1, 1])."""
        f, r = self.features(fake, device), self.features(real, device)
        return {self.fd: frechet_distance(f, r), self.kd: kernel_distance(f, r, subset_size=min(1000, len(f), len(r)))}


# ------------------------------------------------------------ what the metrics mean
_DIST = {
    "fid": "Fréchet distance of InceptionV3 features (FID)",
    "kid": "kernel distance of InceptionV3 features (KID)",
    "fd_random_cnn": "Fréchet distance in a fixed random CNN's features (offline stand-in, not FID)",
    "kd_random_cnn": "kernel distance in a fixed random CNN's features (offline stand-in, not KID)",
}
_PAIRED: dict[str, tuple[str, Better]] = {
    "l1": ("mean absolute error of held-out outputs against their targets (pixels in [0, 1])", "lower"),
    "psnr": ("peak signal-to-noise ratio of outputs against targets (dB)", "higher"),
    "ssim": ("structural similarity of outputs and targets (1 = same)", "higher"),
}


def meanings() -> dict[str, MetricMeaning]:
    """What pix2pix's and CycleGAN's metrics mean (the report's metrics table): each against the
    freshly initialised generator (``*_untrained``) and, for distances, the real-vs-real floor."""
    untrained = "untrained generator"
    out = {
        "direction": MetricMeaning("the direction translated"),
        "held_out_pairs": MetricMeaning("held-out image pairs evaluated"),
        "cycle_l1_*": MetricMeaning(
            "mean absolute error between held-out inputs and their round trip through both generators", "lower"
        ),
    }
    for key, (text, better) in _PAIRED.items():
        out[key] = MetricMeaning(text, better, f"{key}_untrained", untrained)
        out[f"{key}_untrained"] = MetricMeaning(f"the same for the {untrained} (the baseline)")
    for key, text in _DIST.items():
        outputs = f"{text}, outputs vs held-out real images of the output domain"
        for suffix in ("", "_*"):  # pix2pix: fid; cyclegan: fid_AtoB
            out[f"{key}{suffix}"] = MetricMeaning(outputs, "lower", f"{key}{suffix}_real_vs_real", "real vs real")
            out[f"{key}{suffix}_untrained"] = MetricMeaning(f"the same for the {untrained}")
            out[f"{key}{suffix}_real_vs_real"] = MetricMeaning(
                "the same between real training and held-out images: the floor"
            )
    return out
