"""RDP accounting beyond opacus' DP-SGD search: a Gaussian release (an app's noisy statistics)
composed with the DP-SGD steps. Rényi divergences of the parts add at each order (Mironov 2017);
the composition converts to (ε, δ) with opacus' ``get_privacy_spent`` at its default orders.
A Gaussian mechanism of noise multiplier σ (noise std σ × its L2 sensitivity) is a "step" of
sampling rate 1: α / (2σ²) at order α.
"""

from __future__ import annotations

import warnings
from typing import Any

from ganapps.core.errors import ConfigError


def _rdp(sample_rate: float, sigma: float, steps: int) -> Any:
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis.rdp import compute_rdp

    return compute_rdp(q=sample_rate, noise_multiplier=sigma, steps=steps, orders=RDPAccountant.DEFAULT_ALPHAS)


def rdp_epsilon(delta: float, *parts: tuple[float, float, int]) -> float:
    """ε at δ of the RDP composition of (sample rate, σ, steps) Gaussian parts (steps 0 are skipped)."""
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis.rdp import get_privacy_spent

    live = [p for p in parts if p[2] > 0]
    if not live:
        return 0.0
    rdp = sum(_rdp(*p) for p in live)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(get_privacy_spent(orders=RDPAccountant.DEFAULT_ALPHAS, rdp=rdp, delta=delta)[0])


def _bisect_sigma(eps_of: Any, epsilon: float, what: str) -> float:
    """The smallest σ (to 0.1%) with ``eps_of(σ) <= epsilon``."""
    low, high = 0.01, 1.0
    while eps_of(high) > epsilon:
        low, high = high, high * 2
        if high > 1e6:
            raise ConfigError(
                f"option --dp-epsilon: ε = {epsilon:g} is too little for {what} (σ would pass 10⁶); raise --dp-epsilon"
            )
    while high - low > 1e-3 * high:
        mid = (low + high) / 2
        low, high = (mid, high) if eps_of(mid) > epsilon else (low, mid)
    return high


def gaussian_noise_for(epsilon: float, delta: float) -> float:
    """σ (noise per unit of L2 sensitivity) for which one Gaussian mechanism is (ε, δ)-DP (RDP conversion)."""
    return _bisect_sigma(
        lambda s: rdp_epsilon(delta, (1.0, s, 1)),
        epsilon,
        "the app's release of statistics (its share of --dp-epsilon)",
    )


def composed_noise_for(epsilon: float, delta: float, sample_rate: float, steps: int, pre_sigma: float) -> float:
    """σ of the DP-SGD steps so that they and a Gaussian release of noise ``pre_sigma``, composed in
    RDP, spend (ε, δ) together."""
    if rdp_epsilon(delta, (1.0, pre_sigma, 1)) >= epsilon:
        raise ConfigError(f"option --dp-epsilon {epsilon:g}: the preprocessing alone spends it; raise it")
    return _bisect_sigma(
        lambda s: rdp_epsilon(delta, (1.0, pre_sigma, 1), (sample_rate, s, steps)),
        epsilon,
        f"{steps} steps at sampling rate {sample_rate:.3g} after the preprocessing",
    )
