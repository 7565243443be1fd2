"""The wheel as a pip user gets it: `pip install distml[server]` into a clean virtualenv
outside the checkout, then the console scripts `distml-server` and `distml-worker` train a
few rounds, the installed server serves its pages and a wheel of itself for browsers.

The virtualenv is made once under .cache/installed-venv (numpy, websockets and tqdm come
from PyPI the first time; later runs only reinstall the freshly built wheel). Skipped when
PyPI cannot be reached, except under CI=true.
"""
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / "installed-venv"
BIN = VENV / "bin"
TOKEN = "installed-token"


def _under_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


def _clean_env(tmp):
    """No PYTHONPATH, nothing of the checkout; the cache of the installed server in tmp."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DISTML_PYODIDE_DIR")}
    env.update(DISTML_CACHE_DIR=str(tmp / "distml-cache"), PYTHONUNBUFFERED="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(tmp dir outside the checkout, its environment) with the wheel installed in VENV."""
    tmp = tmp_path_factory.mktemp("installed")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                  str(tmp / "dist"), str(ROOT)])
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("distml-*.whl")
    VENV.parent.mkdir(exist_ok=True)
    with open(VENV.parent / ".installed-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one test session at a time changes the venv
        if not (BIN / "python").exists():
            made = _run([sys.executable, "-m", "venv", "--clear", str(VENV)])
            assert made.returncode == 0, made.stderr
        env = _clean_env(tmp)
        deps = _run([str(BIN / "python"), "-m", "pip", "install", "--quiet",
                     f"{wheel}[server]"], env=env, cwd=tmp)
        if deps.returncode != 0:
            why = f"pip install distml[server] failed (no PyPI?): {deps.stderr[-500:]}"
            if _under_ci():
                pytest.fail(why, pytrace=False)
            pytest.skip(why)
        fresh = _run([str(BIN / "python"), "-m", "pip", "install", "--quiet",
                      "--force-reinstall", "--no-deps", str(wheel)], env=env, cwd=tmp)
        assert fresh.returncode == 0, fresh.stderr
        yield tmp, env


def _wait_for(path, pattern, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.search(pattern, path.read_text())
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the output:\n{path.read_text()}")


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read()


def test_the_installed_package_comes_from_site_packages(installed):
    tmp, env = installed
    out = _run([str(BIN / "python"), "-c",
                "import distml, distml.server.static as s; "
                "print(distml.__file__); print(s.WEB_DIR); print(s.IN_CHECKOUT)"],
               env=env, cwd=tmp)
    assert out.returncode == 0, out.stderr
    file, web, in_checkout = out.stdout.split()
    assert file.startswith(str(VENV / "lib")) and "site-packages" in file
    assert web.endswith("distml/server/web") and in_checkout == "False"
    helped = _run([str(BIN / "python"), "-m", "distml.server", "--help"], env=env, cwd=tmp)
    assert helped.returncode == 0 and "--pyodide-dir" in helped.stdout


def test_distml_server_and_worker_train(installed):
    tmp, env = installed
    experiment = tmp / "experiment_tiny.py"
    experiment.write_text((ROOT / "tests" / "distributed" / "experiment_tiny.py").read_text())
    log = tmp / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([str(BIN / "distml-server"), str(experiment), "--port", "0",
                                   "--workers-token", TOKEN, "--max-rounds", "3"],
                                  stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        port = int(_wait_for(log, r"\(port (\d+)\)", server).group(1))
        base = f"http://127.0.0.1:{port}"
        # no Pyodide in this cache: the server says so and how to fix it
        assert "no Pyodide in" in log.read_text() and "--pyodide-dir" in log.read_text()
        status, page = _get(base + f"/?token={TOKEN}")  # the dashboard is private
        assert status == 200 and b"/status.json" in page
        assert _get(base + "/worker")[0] == 200 and _get(base + "/web/distml.js")[0] == 200
        # the wheel browsers install: made from the installed package, without the server
        latest = json.loads(_get(base + "/wheels/latest.json")[1])
        assert latest["name"] == "distml-0.1.0-py3-none-any.whl"
        data = _get(base + latest["wheel"])[1]
        (tmp / "served.whl").write_bytes(data)
        names = zipfile.ZipFile(tmp / "served.whl").namelist()
        assert "distml/__init__.py" in names and "distml/glsl/copy.frag" in names
        assert "distml-0.1.0.dist-info/RECORD" in names
        assert not any(n.startswith("distml/server/") for n in names)

        worker = _run([str(BIN / "distml-worker"), f"ws://127.0.0.1:{port}/ws",
                       "--token", TOKEN, "--name", "installed"], env=env, cwd=tmp)
        assert worker.returncode == 0, worker.stderr
        assert "done (training finished)" in worker.stdout
        assert server.wait(60) == 0
        text = log.read_text()
        assert "finished: 72 samples in 3 rounds: test accuracy" in text
        assert "training finished at round 3" in text
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
