"""Wall time of the commands users run all the time (issue 21: ≤ 0.3 s each on the 2-core box).

Each command runs as a fresh process (what a shell does), 5 times; the best and the median are
printed. Run it alone (nothing else on the CPUs):

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/cli_listing.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [["apps"], ["plugins", "list"], ["datasets", "list"], ["--help"], ["run", "--help"], ["compare", "--help"]]
#: bash tab completion of ``ganapps run t<TAB>`` (what click runs when the shell asks)
COMPLETION = {"_GANAPPS_COMPLETE": "bash_complete", "COMP_WORDS": "ganapps run t", "COMP_CWORD": "2"}


def main() -> None:
    exe = shutil.which("ganapps", path=str(Path(sys.executable).parent)) or "ganapps"
    runs = [(f"ganapps {' '.join(args)}", args, None) for args in COMMANDS]
    runs.append(("completion: run t<TAB>", [], {**os.environ, **COMPLETION}))
    for label, args, env in runs:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([exe, *args], check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - t)
        print(f"{label:24s} best {min(times):.2f} s  median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
