"""In-Pyodide tests with pytest-pyodide (`run_in_pyodide`), in their own virtualenv.

    bash run.sh test     # runs them first (setup makes .cache/pyodide-test-venv)
    DISTML_PYODIDE_TESTS=1 .cache/pyodide-test-venv/bin/python -m pytest tests/pyodide \\
        --runtime chrome --dist-dir .cache/pyodide/test-dist -p no:cacheprovider

pytest-pyodide serves `--dist-dir` and loads Pyodide from it in Debian's Chromium (Selenium
and /usr/bin/chromedriver; `--runtime chrome`). `run.sh setup` makes that folder: links
to the local Pyodide (.cache/pyodide/dist) plus the pure wheels pytest-pyodide loads into
Pyodide (pytest, tblib and their dependencies, sha256 rewritten in a copy of the lock);
here the newest distml wheel (`run.sh wheel`) is copied in, and every fresh Pyodide
installs it with micropip before a test runs. The plugin lives in its own virtualenv
because it registers itself with every pytest run (and brings pytest-asyncio along); the
main suite skips this folder.
"""
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the flags of tests/browser/harness.py: WebGL2 on SwiftShader, no background networking
CHROME_FLAGS = [
    "--headless=new", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--use-gl=angle", "--ignore-gpu-blocklist", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--js-flags=--expose-gc",
]


def _newest_wheel():
    wheels = sorted((ROOT / "wheels").glob("distml-*-py3-none-any.whl"),
                    key=lambda p: p.stat().st_mtime)
    return wheels[-1] if wheels else None


def place_wheel(dist):
    """A copy of the newest distml wheel in the dist folder (older ones removed); its name."""
    for old in dist.glob("distml-*.whl"):
        old.unlink()
    wheel = _newest_wheel()
    shutil.copy2(wheel, dist / wheel.name)
    return wheel.name


def pytest_configure(config):
    dist = Path(config.getoption("--dist-dir")).resolve()
    missing = [why for why, bad in (
        (f"no pytest-pyodide dist in {dist} (bash run.sh setup)",
         not (dist / "pyodide-lock.json").is_file() or not (dist / "pyodide.mjs").exists()),
        ("no wheels/distml-*.whl (bash run.sh wheel)", _newest_wheel() is None)) if bad]
    config.distml_missing = missing
    if missing:
        return
    import pytest_pyodide
    name = place_wheel(dist)
    cfg = pytest_pyodide.get_global_config()
    cfg.set_flags("chrome", CHROME_FLAGS)
    # every fresh Pyodide page installs the distml wheel from the dist folder (relative URL)
    cfg.set_load_pyodide_script("chrome", (
        "let pyodide = await loadPyodide({ fullStdLib: false, jsglobals: self });"
        "await pyodide.loadPackage('micropip');"
        f"await pyodide.runPythonAsync(\"import micropip; await micropip.install('{name}')\");"))


def pytest_collection_modifyitems(config, items):
    if not config.distml_missing:
        return
    why = "pytest-pyodide tests cannot run: " + "; ".join(config.distml_missing)
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        raise pytest.UsageError(why + " (CI is set: these tests must run)")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=why))
