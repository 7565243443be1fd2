"""Package data: the WebGL shaders of glsl/ are reachable as distml/glsl."""

import importlib.resources
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


def test_wheel_ships_the_server_and_its_pages():
    wheels = sorted((ROOT / "wheels").glob("distml-*-py3-none-any.whl"))
    if not wheels:
        pytest.skip("no wheel built (run `bash run.sh wheel`)")
    whl = zipfile.ZipFile(wheels[-1])
    names = set(whl.namelist())
    server = {f"distml/server/{p.name}" for p in (ROOT / "server").glob("*.py")}
    pages = {f"distml/server/web/{p.name}" for p in (ROOT / "web").iterdir() if p.is_file()}
    playground = {f"distml/server/playground/{p.name}"
                  for p in (ROOT / "examples" / "playground").iterdir() if p.is_file()}
    assert server and pages and playground and (server | pages | playground) <= names
    scripts = whl.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "distml-server = distml.server.__main__:main" in scripts
    assert "distml-worker = distml.distributed.worker:main" in scripts


def test_the_server_runs_under_both_names():
    """`python -m server` in the checkout and `python -m distml.server` (the symlink
    distml/server -> ../server, as installed) are the same program."""
    import subprocess
    import sys
    for module in ("server", "distml.server"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "--pyodide-dir" in out.stdout, out.stderr
        assert out.stdout.startswith(f"usage: python -m {module} ")
