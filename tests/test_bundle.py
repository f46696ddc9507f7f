"""Bundles round-trip through JSON + safetensors and refuse pickled payloads."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from ganapps.core import BundleError, TrainConfig, Trainer, load_bundle, save_bundle
from ganapps.core.checkpoint import load_checkpoint
from ganapps.core.testing import RingApp, RingOptions

MARKER = Path("/tmp/ganapps-pickle-was-executed")


class Evil:
    """Unpickling this object would create MARKER (it must never happen)."""

    def __reduce__(self):
        return (Path.touch, (MARKER,))


@pytest.fixture
def trained(plugin):
    class RingPlugin:
        from ganapps.core import hookimpl

        @hookimpl
        def register_apps(self, register):
            register(RingApp)

    plugin(RingPlugin(), "ring-plugin")
    app = RingApp(RingOptions(rows=128, hidden=8))
    data = app.load_data(None)
    app.fit(data)
    Trainer(app, TrainConfig(epochs=1, batch_size=32), progress=False).fit(data)
    app.nets.eval()
    return app


def test_round_trip_gives_the_same_samples(trained, tmp_path: Path) -> None:
    save_bundle(trained, tmp_path / "b", plugin="ring-plugin")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["config.json", "schema.json", "weights.safetensors"]
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["app"] == "ring" and config["options"]["hidden"] == 8
    loaded = load_bundle(tmp_path / "b")
    assert loaded.schema == trained.schema
    torch.manual_seed(0)
    a = trained.generate(16)
    torch.manual_seed(0)
    b = loaded.generate(16)
    assert torch.equal(a, b)


def test_pickled_weights_are_refused(trained, tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    save_bundle(trained, tmp_path / "b")
    (tmp_path / "b" / "weights.safetensors").write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(BundleError, match="never loads pickled weights"):
        load_bundle(tmp_path / "b")
    torch.save({"w": Evil()}, tmp_path / "b" / "weights.safetensors")
    with pytest.raises(BundleError):
        load_bundle(tmp_path / "b")
    assert not MARKER.exists()


def test_pickled_checkpoint_is_refused(tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    torch.save({"format": 1, "payload": Evil()}, tmp_path / "last.pt")
    with pytest.raises(BundleError, match="refusing to load"):
        load_checkpoint(tmp_path / "last.pt")
    assert not MARKER.exists()


def test_bundle_errors(trained, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a run directory or model bundle"):
        load_bundle(tmp_path)
    save_bundle(trained, tmp_path / "b")
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    (tmp_path / "b" / "config.json").write_text(json.dumps({**cfg, "app": "unheard-of"}))
    with pytest.raises(BundleError, match="not installed"):
        load_bundle(tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text(json.dumps({**cfg, "options": {**cfg["options"], "hidden": 9}}))
    with pytest.raises(BundleError, match="do not fit"):
        load_bundle(tmp_path / "b")


def test_failed_save_leaves_the_previous_bundle(trained, tmp_path: Path, monkeypatch) -> None:
    save_bundle(trained, tmp_path / "b")
    before = (tmp_path / "b" / "weights.safetensors").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", boom)  # save_bundle imports it when called
    with pytest.raises(OSError):
        save_bundle(trained, tmp_path / "b")
    assert (tmp_path / "b" / "weights.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
