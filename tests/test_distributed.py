"""Data-parallel training on CPU (gloo): the maths of one step, and whole runs under torchrun.

- Gradients: two processes, each stepping on its shard, end with the gradients (and weights, and
  logged losses) of one process stepping on the concatenated batch — with two calls of the
  discriminator per step, a gradient penalty through ``autograd.grad(create_graph=True)``, a
  frozen discriminator in the generator step, and batch norm synchronised by ``--sync-bn``.
  Unsynchronised batch norm differs (the test can fail).
- Runs: ``ganapps run APP --nproc 2`` writes one run directory from rank 0 and resumes exactly;
  two torchrun launches meeting at a c10d rendezvous on 127.0.0.1 train as two nodes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.core import load_bundle
from ganapps.core.distributed import SyncBatchNorm
from ganapps.core.rundir import read_log

TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(TESTS))
    import ddp_helpers

    return ddp_helpers


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_two_processes_step_like_one_process_on_the_concatenated_batch(helpers, tmp_path: Path) -> None:
    world, rows = 2, helpers.ROWS
    mp.spawn(helpers.grad_worker, args=(world, free_port(), str(tmp_path)), nprocs=world)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(world)]
    for name, (options, _sync_bn) in helpers.CONFIGS.items():
        ref = helpers.one_iteration(options, slice(0, world * rows), sync_bn=False)
        r0, r1 = ranks[0][name], ranks[1][name]
        # every process holds the same gradients, weights and buffers after the iteration
        assert r0["grads"].keys() == r1["grads"].keys() == ref["grads"].keys(), name
        assert all(torch.equal(r0["grads"][k], r1["grads"][k]) for k in r0["grads"]), name
        assert all(torch.equal(r0["state"][k], r1["state"][k]) for k in r0["state"]), name
        same = [close(r0["grads"][k], ref["grads"][k]) for k in ref["grads"]]
        if name == "batch-norm-unsynced":  # per-shard batch statistics: not the concatenated batch's
            assert not all(same), name
            continue
        assert all(same), (name, [k for k, ok in zip(ref["grads"], same, strict=True) if not ok])
        assert all(close(r0["state"][k].float(), ref["state"][k].float()) for k in ref["state"]), name
        # the log holds the mean of the processes' losses: the loss of the whole batch
        for key, value in ref["losses"].items():
            assert r0["losses"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), (name, key)


def test_sync_batch_norm_is_batch_norm_in_one_process() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 5, 5)
    bn, sync = torch.nn.BatchNorm2d(3), SyncBatchNorm(3)
    assert torch.equal(bn(x), sync(x))
    assert torch.equal(bn.running_var, sync.running_var)
    bn.eval(), sync.eval()
    assert torch.equal(bn(x), sync(x))


# --------------------------------------------------------------------------- runs
@pytest.fixture
def worker_plugin(helpers, plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``ddp_helpers`` as a plugin here (throwaway) and, through an entry point, in worker processes."""
    plugin(helpers, "ddptest")
    site = tmp_path / "site"
    info = site / "ganapps_ddptest-0.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganapps-ddptest\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text("[ganapps]\nddptest = ddp_helpers\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(TESTS)]), "GANAPPS_LOAD_PLUGINS": "ddptest"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "ring.csv").write_text("RingApp draws its own points\n")
    return env


def invoke(*args: str):
    return CliRunner().invoke(cli, ["-q", *args])


RING = ["--data", "ring.csv", "--epochs", "2", "--batch-size", "32", "--seed", "3", "--ema", "0.9", "--samples", "64"]


def test_nproc_2_writes_one_run_directory_and_resumes(in_tmp: Path, worker_plugin) -> None:
    result = invoke("run", "ring", *RING, "--nproc", "2", "--max-steps", "5", "--out", "run")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in in_tmp.iterdir()) == ["ring.csv", "run", "site"]  # one run directory
    info = json.loads((in_tmp / "run" / "run.json").read_text())
    assert info["status"] == "finished" and info["distributed"]["processes"] == 2
    assert info["distributed"]["backend"] == "gloo" and info["distributed"]["global_batch"] == 64
    assert [r["step"] for r in read_log(in_tmp / "run" / "metrics.jsonl")] == [1, 2, 3, 4, 5]  # written once
    # --resume starts as many processes as the run had (no --nproc needed) and runs to the end
    result = invoke("run", "ring", "--resume", "run")
    assert result.exit_code == 0, result.output
    steps = [r["step"] for r in read_log(in_tmp / "run" / "metrics.jsonl")]
    assert steps == list(range(1, 13))  # 410 training rows / (2 × 32) = 6 steps per epoch, 2 epochs
    metrics = json.loads((in_tmp / "run" / "metrics.json").read_text())
    assert metrics["training"]["steps"] == 12 and metrics["training"]["processes"] == 2
    assert load_bundle(in_tmp / "run").nets["generator"](torch.zeros(1, 4)).shape == (1, 2)
    bad = invoke("run", "ring", "--resume", "run", "--nproc", "3")
    assert bad.exit_code == 2 and "trained by 2 process(es)" in bad.output


def test_two_torchrun_nodes_meet_at_a_c10d_rendezvous(in_tmp: Path, worker_plugin) -> None:
    port = free_port()
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1"]
    launcher += ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "ddptest"]
    command = [*launcher, "-m", "ganapps.cli", "-q", "run", "ring", *RING, "--out", "run"]
    env = {**os.environ, **worker_plugin, "OMP_NUM_THREADS": "1"}
    nodes = [subprocess.Popen(command, cwd=in_tmp, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [node.communicate(timeout=240)[1] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], errors
    info = json.loads((in_tmp / "run" / "run.json").read_text())
    assert info["status"] == "finished"
    assert info["distributed"] == {"processes": 2, "nodes": 2, "backend": "gloo", "global_batch": 64}
    assert len(read_log(in_tmp / "run" / "metrics.jsonl")) == 12
