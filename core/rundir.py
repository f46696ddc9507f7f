"""The run directory: ``runs/<app>-<timestamp>/`` with bundle, logs, samples, metrics and report."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganapps.core.errors import ConfigError
from ganapps.core.io import read_json, write_json

RUN_FILE = "run.json"


@dataclass
class RunDir:
    """Paths of one run. Only rank 0 of a distributed run writes here."""

    path: Path

    @property
    def bundle(self) -> Path:
        return self.path / "bundle"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def log_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    @classmethod
    def create(cls, out: str | Path | None, app_name: str, root: str | Path = "runs") -> RunDir:
        """A fresh directory: ``out`` if given (must be empty or absent), else a timestamped one."""
        if out is not None:
            path = Path(out)
            if path.exists() and any(path.iterdir()):
                if (path / RUN_FILE).exists():
                    raise ConfigError(
                        f"option --out: {path} already holds a run; resume it with --resume {path} or choose another --out"
                    )
                raise ConfigError(f"option --out: {path} exists and is not empty")
            path.mkdir(parents=True, exist_ok=True)
            return cls(path)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path(root) / f"{app_name}-{stamp}"
        path, i = base, 1
        while path.exists():
            i += 1
            path = base.with_name(f"{base.name}-{i}")
        path.mkdir(parents=True)
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory (the one holding ``run.json``)."""
        p = Path(path)
        if p.name == "bundle" and (p.parent / RUN_FILE).exists():
            p = p.parent
        if not (p / RUN_FILE).exists():
            raise ConfigError(f"{p} is not a ganapps run directory (no {RUN_FILE})")
        return cls(p)

    def read_info(self) -> dict[str, Any]:
        return read_json(self.path / RUN_FILE)

    def write_info(self, info: dict[str, Any]) -> None:
        write_json(self.path / RUN_FILE, info)


class MetricsLog:
    """Append-only JSONL step log, flushed in chunks; ``truncate_after`` supports resume."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._buffer: list[str] = []
        self._fh = None

    def append(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        self._buffer.append(json.dumps(record, default=float))
        if len(self._buffer) >= 200:
            self.flush()

    def flush(self) -> None:
        if self.path is None or not self._buffer:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write("\n".join(self._buffer) + "\n")
        self._fh.flush()
        self._buffer.clear()

    def close(self) -> None:
        self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def truncate_after(self, step: int) -> list[dict[str, Any]]:
        """Drop records logged after ``step`` (written after the checkpoint we resume from)."""
        if self.path is None or not self.path.exists():
            return []
        kept = [r for r in read_log(self.path) if r.get("step", 0) <= step]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        tmp.replace(self.path)
        return kept


def read_log(path: Path) -> list[dict[str, Any]]:
    """Records of a JSONL log, skipping a torn last line."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
