"""Metrics shared by apps: feature-space distances, PSNR/SSIM of images, privacy risk and ranking scores, and
:func:`measure`, which keeps a failing metric from losing the run."""

from ganapps.core.metrics.distances import frechet_distance, kernel_distance, nearest_distances, precision_recall
from ganapps.core.metrics.guard import measure
from ganapps.core.metrics.images import psnr, ssim
from ganapps.core.metrics.privacy import dcr, membership_inference_auc, roc_auc, standardize

__all__ = [
    "dcr",
    "frechet_distance",
    "kernel_distance",
    "measure",
    "membership_inference_auc",
    "nearest_distances",
    "precision_recall",
    "psnr",
    "roc_auc",
    "ssim",
    "standardize",
]
