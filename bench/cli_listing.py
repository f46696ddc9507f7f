"""Wall time of the commands users run all the time (issue 21: ≤ 0.3 s each on the 2-core box).

Each command runs as a fresh process (what a shell does), 5 times; the best and the median are
printed. Run it alone (nothing else on the CPUs):

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/cli_listing.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [["apps"], ["plugins", "list"], ["datasets", "list"], ["--help"], ["run", "--help"], ["compare", "--help"]]


def main() -> None:
    exe = shutil.which("ganapps", path=str(Path(sys.executable).parent)) or "ganapps"
    for args in COMMANDS:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([exe, *args], check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        print(f"ganapps {' '.join(args):16s} best {min(times):.2f} s  median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
