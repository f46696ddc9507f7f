"""Seconds per training iteration of the stylegan app's networks at four widths, batch 32 of 32×32 digits
(random pixels: speed only), outside the engine: D step, G step, R1 step, path-length step (each forward,
backward, Adam step), and the amortised iteration D + G + R1/16 + PL/4. Chose the default widths (16/64).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/stylegan_step.py

Output of the run reported in bench/RESULTS.md: bench/stylegan_step.txt.
"""

import time

import torch

from ganapps.plugins.stylegan.app import StyleGAN
from ganapps.plugins.stylegan.options import StyleGANOptions

CONFIGS = {
    "c32m128": dict(g_channels=32, d_channels=32, max_channels=128),
    "c16m64": dict(g_channels=16, d_channels=16, max_channels=64),
    "c16m32": dict(g_channels=16, d_channels=16, max_channels=32),
    "c32m64": dict(g_channels=32, d_channels=32, max_channels=64),
}


def seconds(fn, opt: torch.optim.Optimizer, batch: tuple, reps: int) -> float:
    """Mean seconds of ``reps`` updates: forward, backward, optimizer step."""
    t = time.perf_counter()
    for _ in range(reps):
        loss = fn(batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / reps


def main() -> None:
    torch.manual_seed(0)
    for name, o in CONFIGS.items():
        app = StyleGAN(StyleGANOptions(**o))
        app.schema = {"channels": 1, "judge_classes": 0}
        app.nets = torch.nn.ModuleDict(app.build())
        G, D = app.nets.generator, app.nets.discriminator
        og = torch.optim.Adam(G.parameters(), 2e-3, betas=(0.0, 0.99))
        od = torch.optim.Adam(D.parameters(), 2e-3, betas=(0.0, 0.99))
        batch = (torch.rand(32, 1, 32, 32) * 2 - 1, torch.zeros(32))
        seconds(app.discriminator_step, od, batch, 1)  # warm-up
        d = seconds(app.discriminator_step, od, batch, 4)
        g = seconds(app.generator_step, og, batch, 4)
        r1 = seconds(app.r1_step, od, batch, 2)
        pl = seconds(app.path_length_step, og, batch, 2)
        print(
            f"{name}: D {d:.3f} G {g:.3f} R1 {r1:.3f} PL {pl:.3f} -> per step {d + g + r1 / 16 + pl / 4:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
