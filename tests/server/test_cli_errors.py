"""A user's mistakes on the command lines (server, demo, worker, run.sh): one line on
stderr naming the problem and what to do, a non-zero exit code, never a traceback."""
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXP = ROOT / "tests" / "distributed" / "experiment_tiny.py"
SERVER = [sys.executable, "-m", "server"]
DEMO = [sys.executable, "-m", "server.demo", "--workers", "0"]
WORKER = [sys.executable, "-m", "distml.distributed.worker"]


def run(args, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def one_line_error(proc, *words, code=2):
    """The process failed with `code` and one stderr line holding every word."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    return err


@pytest.fixture
def busy_port():
    """A port something is listening on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def not_python(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# my experiment\n\nTrain an MNIST net, then *celebrate*.\n")
    return path


@pytest.fixture
def no_make_model(tmp_path):
    path = tmp_path / "half.py"
    path.write_text("hyperparameters = {}\n\ndef make_dataset(train):\n    return None\n")
    return path


@pytest.mark.parametrize("cli", [SERVER, DEMO], ids=["server", "demo"])
def test_experiment_mistakes(cli, tmp_path, not_python, no_make_model):
    one_line_error(run(cli + [str(tmp_path / "nope.py")]), "does not exist", ".py file")
    one_line_error(run(cli + [str(not_python)]), "is not a Python file", "make_model")
    one_line_error(run(cli + [str(no_make_model)]), "does not define make_model",
                   "examples/mnist_distributed.py")
    broken = tmp_path / "broken.py"
    broken.write_text("def make_model(:\n")
    one_line_error(run(cli + [str(broken)]), "is not valid Python (line 1)")


@pytest.mark.parametrize("cli", [SERVER, DEMO], ids=["server", "demo"])
def test_port_out_of_range(cli):
    for bad in ("99999", "-1", "eighty"):
        err = one_line_error(run(cli + [str(EXP), "--port", bad]), "--port",
                             "1-65535, or 0 for any free port")
        assert bad in err


def test_server_missing_experiment_argument():
    one_line_error(run(SERVER), "experiment", "--help")


def test_port_in_use(busy_port):
    err = one_line_error(run(SERVER + [str(EXP), "--port", str(busy_port)]),
                         f"port {busy_port} is already in use", "--port 0")
    assert err.startswith("python -m server: error: ")


@pytest.mark.parametrize("cli", [SERVER, DEMO], ids=["server", "demo"])
def test_default_port_taken_means_a_free_one(cli):
    """Without --port the server (and the demo) takes 8000, or says which port it took
    instead."""
    if cli is DEMO and not (list((ROOT / "wheels").glob("distml-*.whl")) and
                            (ROOT / ".cache" / "pyodide" / "dist" / "pyodide.mjs").is_file()):
        pytest.skip("the demo needs wheels/ and .cache/pyodide (bash run.sh setup, wheel)")
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 8000))
        blocker.listen()
    except OSError:
        pass  # already busy: just as good
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cli + [str(EXP), "-q"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        first = proc.stdout.readline()
        m = re.match(r"port 8000 is in use: using port (\d+) instead", first)
        assert m and int(m.group(1)) != 8000, first
        assert f"(port {m.group(1)})" in proc.stdout.readline() + proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        blocker.close()


def test_worker_url_mistakes(busy_port):
    one_line_error(run(WORKER + ["http://127.0.0.1:8000/", "--token", "T"]),
                   "web page address", "ws://127.0.0.1:8000/ws")
    one_line_error(run(WORKER + ["127.0.0.1:8000", "--token", "T"]),
                   "not a websocket URL", "ws://HOST:PORT/ws")
    one_line_error(run(WORKER + ["ws://127.0.0.1:8000/ws", "--token", "T", "--reconnect", "-2"]),
                   "--reconnect", "not a count")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    one_line_error(run(WORKER + [f"ws://127.0.0.1:{port}/ws", "--token", "T"]),
                   "connection refused", "is the server running", code=1)


def test_worker_without_ws_path_gets_a_hint():
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    server = subprocess.Popen(SERVER + [str(EXP), "--port", "0", "-q", "--workers-token", "T"],
                              cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        port = None
        end = time.monotonic() + 60
        while port is None and time.monotonic() < end:
            m = re.search(r"\(port (\d+)\)", server.stdout.readline())
            port = m and m.group(1)
        assert port, "the server did not start"
        err = one_line_error(run(WORKER + [f"ws://127.0.0.1:{port}", "--token", "T"]),
                             "HTTP 404", f"ws://127.0.0.1:{port}/ws", code=1)
        assert "websocket is at /ws" in err
    finally:
        server.kill()
        server.wait(10)
        server.stdout.close()


def test_run_sh_unknown_command():
    proc = subprocess.run(["bash", str(ROOT / "run.sh"), "nosuchcommand"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    one_line_error(proc, "unknown command 'nosuchcommand'")
    assert "bash run.sh setup" in proc.stdout  # the usage follows
