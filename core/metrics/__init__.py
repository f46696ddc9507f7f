"""Metrics shared by apps: feature-space distances, privacy risk and ranking scores."""

from ganapps.core.metrics.distances import frechet_distance, kernel_distance, nearest_distances
from ganapps.core.metrics.privacy import dcr, membership_inference_auc, roc_auc, standardize

__all__ = [
    "dcr",
    "frechet_distance",
    "kernel_distance",
    "membership_inference_auc",
    "nearest_distances",
    "roc_auc",
    "standardize",
]
