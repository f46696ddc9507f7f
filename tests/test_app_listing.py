"""Listing apps is instant: apps registered by reference are read from source, imported on use."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ganapps.core import PluginError, appref, hookimpl
from ganapps.core.plugins import get_registry

LISTINGS = [["apps"], ["apps", "--json"], ["plugins", "list"], ["run", "--help"], ["--help"], ["compare", "--help"]]


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_listing_commands_import_no_app_and_no_torch(args: list[str]) -> None:
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from ganapps.cli.main import cli
        result = CliRunner().invoke(cli, {args!r})
        assert result.exit_code == 0, result.output
        heavy = sorted(m for m in sys.modules if m == "torch" or m.endswith((".app", ".pix2pix", ".cyclegan")))
        print(heavy)
        print(result.output)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "[]", out
    if args[0] in ("apps", "run"):
        assert "tabular" in out and "medgan" in out


def test_metadata_read_from_source_is_the_classes_own() -> None:
    apps = get_registry().apps
    assert len(apps) >= 12
    for name, info in apps.items():
        assert isinstance(info.ref, str), f"{name} is registered by class, not by reference"
        cls = info.cls  # imports it, and checks it against what the listing showed
        assert (cls.name, cls.kind, cls.description) == (info.name, info.kind, info.description)
    # inherited through a base in the same module (cgan ← dcgan) and in another one (pix2pix ← common)
    assert apps["cgan"].kind == "image" and apps["pix2pix"].kind == "translation"


def test_computed_attributes_fall_back_to_importing(tmp_path, monkeypatch, plugin) -> None:
    (tmp_path / "lazy_demo.py").write_text(
        textwrap.dedent("""
        from ganapps.core.testing import RingApp

        class Literal(RingApp):
            name = "lazy-literal"
            description = "read from source"

        class Computed(RingApp):
            name = "lazy-computed"
            description = "made " + "at import"
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert appref.read_metadata("lazy_demo:Literal") == {
        "name": "lazy-literal",
        "description": "read from source",
        "kind": "toy",  # from RingApp, in ganapps.core.testing
    }
    assert appref.read_metadata("lazy_demo:Computed") is None

    class Plugin:
        @hookimpl
        def register_apps(self, register):
            register("lazy_demo:Literal")
            register("lazy_demo:Computed")

    plugin(Plugin(), "lazy-demo")
    apps = get_registry().apps
    assert apps["lazy-literal"].ref == "lazy_demo:Literal"  # not imported yet
    assert isinstance(apps["lazy-computed"].ref, type)  # imported at registration
    assert apps["lazy-computed"].description == "made at import"
    assert apps["lazy-literal"].cls.__name__ == "Literal"


def test_a_reference_that_fails_on_use_is_one_plugin_error(tmp_path, monkeypatch, plugin) -> None:
    (tmp_path / "lazy_broken.py").write_text(
        'from ganapps.core.testing import RingApp\nraise RuntimeError("no GPU driver")\n'
        'class Broken(RingApp):\n    name = "lazy-broken"\n    description = "x"\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    class Plugin:
        @hookimpl
        def register_apps(self, register):
            register("lazy_broken:Broken")

    plugin(Plugin(), "lazy-broken")
    registry = get_registry()
    assert "lazy-broken" in registry.apps  # listed from source
    with pytest.raises(PluginError, match="lazy_broken:Broken.*failed to import: RuntimeError: no GPU driver"):
        registry.app("lazy-broken")
    with pytest.raises(PluginError, match="not of the form"):
        appref.split("no_colon")


def test_tab_completion_of_app_names_imports_no_app() -> None:
    code = textwrap.dedent("""
        import os, sys
        os.environ.update({"_GANAPPS_COMPLETE": "bash_complete", "COMP_WORDS": "ganapps run t", "COMP_CWORD": "2"})
        from ganapps.cli.main import cli
        try:
            cli(prog_name="ganapps")
        except SystemExit:
            pass
        print("torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["plain,tabular", "False"], out
