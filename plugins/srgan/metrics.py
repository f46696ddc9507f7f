"""PSNR and SSIM of super-resolved images against the real HR images, with bicubic as the floor.

As the paper (and the SR literature since Set5/Set14): on the luminance channel Y of YCbCr
(ITU-R BT.601, the MATLAB ``rgb2ycbcr`` convention), with a border of ``SCALE`` pixels shaved off
each side. SSIM is Wang et al. (2004): 11×11 Gaussian window, σ = 1.5.
"""

from __future__ import annotations

from torch import Tensor

from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics import psnr, ssim
from ganapps.plugins.srgan.data import SCALE


def luminance(images: Tensor) -> Tensor:
    """Y of YCbCr (BT.601, in [16/255, 235/255]) of RGB images in [-1, 1], returned in [-1, 1] terms."""
    rgb = (images.float().clamp(-1, 1) + 1) / 2
    y = (16.0 + 65.481 * rgb[:, 0] + 128.553 * rgb[:, 1] + 24.966 * rgb[:, 2]) / 255.0
    return (y * 2 - 1)[:, None]


def sr_metrics(output: Tensor, target: Tensor, border: int = SCALE) -> dict[str, float]:
    """{"psnr", "ssim"} on Y with ``border`` pixels shaved off each side."""
    crop = (slice(None), slice(None), slice(border, -border or None), slice(border, -border or None))
    y_out, y_ref = luminance(output)[crop], luminance(target)[crop]
    return {"psnr": psnr(y_out, y_ref), "ssim": ssim(y_out, y_ref)}


def meanings() -> dict[str, MetricMeaning]:
    return {
        "held_out_images": MetricMeaning("held-out HR images downsampled ×1/4 and upscaled back"),
        "psnr": MetricMeaning(
            "PSNR (dB) of ours vs the real HR images, Y channel", "higher", "psnr_bicubic", "bicubic"
        ),
        "ssim": MetricMeaning("SSIM of ours vs the real HR images, Y channel", "higher", "ssim_bicubic", "bicubic"),
        "psnr_bicubic": MetricMeaning("PSNR (dB) of bicubic ×4 upsampling: the floor to beat", "higher"),
        "ssim_bicubic": MetricMeaning("SSIM of bicubic ×4 upsampling: the floor to beat", "higher"),
    }
