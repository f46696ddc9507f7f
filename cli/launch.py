"""``ganapps run APP --nproc N``: start N training processes on this machine under torchrun's
elastic launcher. Only the command line starts processes; the engine (core/distributed.py) only
joins the group it finds itself in."""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("ganapps.distributed")

_SIGNALS = {int(s) for s in signal.Signals}


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m ganapps.cli ARGV`` in ``nproc`` processes on this machine under torchrun's
    elastic launcher (a standalone c10d rendezvous on a free local port); return the exit status."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args
    from torch.distributed.run import run as torchrun

    args = parse_args(["--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0", "-m", "ganapps.cli"])
    args.training_script_args = list(argv)  # not parsed: torchrun would take --nproc for its own option
    saved_env = os.environ.get("OMP_NUM_THREADS")
    if saved_env is None:  # share the cores instead of torchrun's default of one thread each
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    handled = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
    handlers = {s: signal.getsignal(getattr(signal, s)) for s in handled if hasattr(signal, s)}
    # torchrun's agent logs each stopped and failed process; the processes say why themselves
    agent_logs = [
        logging.getLogger(name)
        for name in list(logging.Logger.manager.loggerDict)
        if name.startswith("torch.distributed.elastic") or name == "torch.distributed.run"
    ]
    levels = [lg.level for lg in agent_logs]
    for lg in agent_logs:
        lg.setLevel(logging.CRITICAL)
    try:
        torchrun(args)
        return 0
    except ChildFailedError as exc:
        failures = sorted(exc.failures.items())
        # processes that failed on their own; the others were stopped by the launcher after them
        causes = [(r, f) for r, f in failures if f.exitcode > 0] or failures
        for rank, failure in causes:
            if failure.exitcode == 2:
                continue  # a user error, which the process printed
            if failure.exitcode > 0:
                log.error("training process %d failed with exit status %d (its error is above)", rank, failure.exitcode)
            else:
                name = signal.Signals(-failure.exitcode).name if -failure.exitcode in _SIGNALS else "a signal"
                hint = " (out of memory?)" if name == "SIGKILL" else ""
                log.error("training process %d was killed by %s%s", rank, name, hint)
        return next((f.exitcode for _, f in causes if f.exitcode > 0), 1)
    except SignalException as exc:  # Ctrl-C: the processes checkpoint and stop; rank 0 said how to resume
        log.debug("launcher interrupted by %s", exc.sigval.name)
        return 130
    finally:
        for lg, level in zip(agent_logs, levels, strict=True):
            lg.setLevel(level)
        for s, h in handlers.items():
            signal.signal(getattr(signal, s), h)
        if saved_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
