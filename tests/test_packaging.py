"""Package data: the WebGL shaders of glsl/ are reachable as distml/glsl."""

import importlib.resources
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_glsl_resources():
    glsl = importlib.resources.files("distml") / "glsl"
    src = (glsl / "copy.frag").read_text()
    assert src.startswith("#version 300 es")
    assert "void main()" in src


def test_wheel_ships_glsl():
    wheels = sorted((ROOT / "wheels").glob("distml-*-py3-none-any.whl"))
    if not wheels:
        pytest.skip("no wheel built (run `bash run.sh wheel`)")
    names = set(zipfile.ZipFile(wheels[-1]).namelist())
    shaders = {f"distml/glsl/{p.name}" for p in (ROOT / "glsl").iterdir() if p.is_file()}
    assert shaders and shaders <= names
