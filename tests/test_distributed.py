"""Data-parallel training on CPU (gloo): the maths of one step, and whole runs under torchrun.

- Gradients: two processes, each stepping on its shard, end with the gradients (and weights, and
  logged losses) of one process stepping on the concatenated batch — with two calls of the
  discriminator per step, a gradient penalty through ``autograd.grad(create_graph=True)``, a
  frozen discriminator in the generator step, and batch norm synchronised by ``--sync-bn``.
  Unsynchronised batch norm differs (the test can fail).
- Resume: a distributed run stopped mid-epoch and resumed ends with the uninterrupted run's
  weights, EMA and batch-norm statistics, bit for bit.
- Runs: ``ganapps run dcgan --nproc 2`` writes one run directory from rank 0; two torchrun
  launches meeting at a c10d rendezvous on 127.0.0.1 resume it as two nodes and finish it.
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


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Two gloo processes (spawned once for this module) run ddp_helpers.grad_worker; their results."""
    out = tmp_path_factory.mktemp("workers")
    sys.path.insert(0, str(TESTS))
    try:
        import ddp_helpers

        mp.spawn(ddp_helpers.grad_worker, args=(2, free_port(), str(out)), nprocs=2)
    finally:
        sys.path.remove(str(TESTS))
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


def test_two_processes_step_like_one_process_on_the_concatenated_batch(helpers, workers) -> None:
    world, rows, ranks = 2, helpers.ROWS, workers
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


@pytest.mark.parametrize("case", ["resume", "resume-sync-bn"])
def test_resumed_distributed_training_ends_where_an_uninterrupted_one_does(workers, case: str) -> None:
    for rank in workers:
        full, resumed = rank[case]["full"], rank[case]["resumed"]
        assert full.keys() == resumed.keys()
        assert all(torch.equal(full[k], resumed[k]) for k in full), [
            k for k in full if not torch.equal(full[k], resumed[k])
        ]
    r0, r1 = (rank[case]["full"] for rank in workers)
    assert all(torch.equal(r0[k], r1[k]) for k in r0)  # the replicas agree, running statistics included


def test_ctrl_c_in_one_process_stops_all_after_the_same_iteration_and_resumes(workers) -> None:
    for rank in workers:
        case = rank["ctrl-c"]
        # Ctrl-C during iteration 6 reached process 1 only; all stop after the next one
        assert case["interrupted"] and case["step"] == 7
        full, resumed = case["full"], case["resumed"]
        assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_sync_batch_norm_is_batch_norm_in_one_process() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 3, 5, 5)
    bn, sync = torch.nn.BatchNorm2d(3), SyncBatchNorm(3)
    assert torch.equal(bn(x), sync(x))
    assert torch.equal(bn.running_var, sync.running_var)
    bn.eval(), sync.eval()
    assert torch.equal(bn(x), sync(x))


# --------------------------------------------------------------------------- runs
def invoke(*args: str):
    return CliRunner().invoke(cli, ["-q", *args])


def torchrun_nodes(command: list[str], cwd: Path, nodes: int = 2) -> list[int]:
    """Start ``nodes`` torchrun launchers here, one process each, meeting at a c10d rendezvous on
    127.0.0.1 as separate machines would; their exit statuses (stderr shown on failure)."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(nodes), "--nproc-per-node", "1"]
    launcher += ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}", "--rdzv-id", "test"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([*launcher, *command], cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(nodes)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * nodes, "\n".join(errors)
    return codes


def test_nproc_run_then_resumed_on_two_nodes(in_tmp: Path, tiny_digits: Path) -> None:
    tiny = ["--data", str(tiny_digits), "--nz", "16", "--ngf", "8", "--ndf", "8", "--classifier-epochs", "1"]
    tiny += ["--epochs", "2", "--batch-size", "16", "--sync-bn", "--ema", "0.9", "--samples", "50"]
    # 1. `ganapps run --nproc 2` on this machine, stopped after 7 steps: one run directory, by rank 0
    result = invoke("run", "dcgan", *tiny, "--nproc", "2", "--max-steps", "7", "--out", "run")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in in_tmp.iterdir()) == ["run", "tiny_digits.npz"]
    info = json.loads((in_tmp / "run" / "run.json").read_text())
    assert info["status"] == "finished" and info["train"]["sync_bn"]
    assert info["distributed"] == {"processes": 2, "nodes": 1, "backend": "gloo", "global_batch": 32}
    assert [r["step"] for r in read_log(in_tmp / "run" / "metrics.jsonl")] == list(range(1, 8))  # written once
    assert invoke("run", "dcgan", "--resume", "run", "--nproc", "3").exit_code == 2  # 2 processes or none

    # 2. resumed by two torchrun launchers standing for two nodes; it trains to the end
    torchrun_nodes(["-m", "ganapps", "-q", "run", "dcgan", "--resume", "run"], in_tmp)
    info = json.loads((in_tmp / "run" / "run.json").read_text())
    assert info["status"] == "finished" and info["distributed"]["nodes"] == 2
    steps = [r["step"] for r in read_log(in_tmp / "run" / "metrics.jsonl")]
    assert steps == list(range(1, 16))  # 160 training digits / (2 × 16) = 5 steps per epoch, 3 epochs
    assert (in_tmp / "run" / "samples" / "samples_epoch002.png").exists()
    metrics = json.loads((in_tmp / "run" / "metrics.json").read_text())
    assert metrics["training"]["processes"] == 2 and metrics["metrics"]["frechet_distance"] > 0
    bundle = load_bundle(in_tmp / "run")  # plain batch norm again, as build() makes it
    assert not any(isinstance(m, SyncBatchNorm | torch.nn.SyncBatchNorm) for m in bundle.nets.modules())
    # a run trained on several machines is resumed with torchrun, not --nproc
    bad = invoke("run", "dcgan", "--resume", "run")
    assert bad.exit_code == 2 and "trained on 2 machines" in bad.output


def test_bad_nproc_settings_are_one_line_errors(in_tmp: Path, tiny_digits: Path) -> None:
    data = ["--data", str(tiny_digits)]
    for args, fragment in (
        (["--nproc", "0"], "--nproc must be at least 1"),
        (["--nproc", "2", "--device", "mps"], "runs on CPU or CUDA, not mps"),
        (["--nproc", "2", "--data", "missing.npz"], "missing.npz"),
    ):
        result = invoke("run", "dcgan", *data, *args)
        assert result.exit_code == 2, result.output
        assert fragment in result.output and "Traceback" not in result.output, result.output
    assert not (in_tmp / "runs").exists()  # nothing was started
