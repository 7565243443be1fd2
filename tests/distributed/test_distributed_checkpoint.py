"""The server as a process: SIGKILL mid-training and --resume; the command-line flags.

The server and the workers run as real processes (`python -m server`, `python -m
distml.distributed.worker`) on 127.0.0.1. The resumed server must start from the last
checkpoint (at most the round in flight is lost) and end where an uninterrupted run ends.
"""
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import distml
from test_distributed_server import EXP, assert_state_close, reference_states

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ckpt-token"


class Proc:
    """A child process whose output lines are read by a thread (so waits are bounded)."""

    def __init__(self, args):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.p = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, self._q = [], queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.p.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def expect(self, pattern, timeout=30):
        """The first output line (already read or still to come) matching `pattern`."""
        for line in self.lines:
            m = re.search(pattern, line)
            if m:
                return m
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def wait(self, timeout=30):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
            raise

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)
        self._reader.join(5)  # it stops at end of output
        if not self._reader.is_alive():
            self.p.stdout.close()


def server(ckpt, *extra, port=0):
    proc = Proc(["-m", "server", str(EXP), "--port", str(port), "--workers-token", TOKEN,
                 "--checkpoint-dir", str(ckpt), "--checkpoint-every", "1", "--max-rounds",
                 str(ROUNDS), "--epochs", "10", "-q", *extra])
    port = int(proc.expect(r"listening on ws://127\.0\.0\.1:\d+/ws \(port (\d+)\)").group(1))
    return proc, port


def worker(url, *extra):
    return Proc(["-m", "distml.distributed.worker", url, "--token", TOKEN, *extra])


def read_checkpoint(path):
    state = distml.load(path)
    weights = {k: v.numpy() for k, v in state["model"].items()}
    return state, weights


ROUNDS = 12


def test_sigkill_then_resume(tmp_path):
    ckpt = tmp_path / "ckpt"
    path = ckpt / "checkpoint.safetensors"
    want = reference_states(ROUNDS)
    procs = []
    try:
        srv, port = server(ckpt)
        procs.append(srv)
        url = f"ws://127.0.0.1:{port}/ws"
        # a slow worker that comes back to the restarted server by itself
        slow = worker(url, "--delay", "0.2", "--reconnect", "60", "--backoff", "0.25")
        procs.append(slow)
        end = time.monotonic() + 30
        while time.monotonic() < end:  # wait for a checkpoint past round 3
            if path.is_file() and distml.load(path)["round"] >= 3:
                break
            time.sleep(0.02)
        srv.p.send_signal(signal.SIGKILL)
        assert srv.wait(10) == -signal.SIGKILL

        state, weights = read_checkpoint(path)
        killed_at = state["round"]
        assert 3 <= killed_at < ROUNDS
        assert state["version"] == killed_at
        assert state["epoch"] * 96 + state["position"] == killed_at * 24
        assert_state_close(weights, want[killed_at])  # the checkpoint is consistent
        assert not [p for p in ckpt.iterdir() if ".tmp" in p.name]  # atomic writes

        srv, _ = server(ckpt, "--resume", port=port)  # same port: the worker reconnects
        procs.append(srv)
        resumed = int(srv.expect(r"resumed from .* at round (\d+)").group(1))
        assert resumed == killed_at  # nothing lost but the round in flight
        srv.expect(r"training finished at round (\d+)", timeout=60)
        assert srv.wait(30) == 0
        assert slow.wait(30) == 0
        slow.expect("reconnecting", timeout=5)
        state, weights = read_checkpoint(path)
        assert state["round"] == ROUNDS
        assert_state_close(weights, want[ROUNDS])  # as if it had never been killed
        assert np.isfinite(np.concatenate([w.ravel() for w in weights.values()])).all()
    finally:
        for p in procs:
            p.kill()


def test_cli_flags_and_progress(tmp_path):
    """`python -m server` with the robustness and compression flags, two worker processes,
    and the progress output (bar, loss, workers, accuracy)."""
    procs = []
    try:
        srv = Proc(["-m", "server", str(EXP), "--port", "0", "--workers-token", TOKEN,
                    "--aggregate", "median", "--compression", "float16",
                    "--max-grad-norm", "5", "--min-workers", "2", "--max-rounds", "3",
                    "--checkpoint-dir", str(tmp_path), "--checkpoint-every", "2"])
        procs.append(srv)
        port = int(srv.expect(r"\(port (\d+)\)").group(1))
        assert "aggregate median, compression float16" in srv.lines[0]
        for _ in range(2):
            procs.append(worker(f"ws://127.0.0.1:{port}/ws"))
        srv.expect(r"training finished at round 3", timeout=60)
        srv.expect(r"test accuracy .* after 3 rounds")
        assert srv.wait(30) == 0
        assert [p.wait(30) for p in procs[1:]] == [0, 0]
        text = "\n".join(srv.lines)
        # not a TTY: plain progress lines (server/progress.py), the total is this run's
        # 3 rounds of 24 samples, not the epoch's 96
        assert re.search(r"progress: 24/72 samples \(33%\), [\d.]+ samples/s, ETA [-\d:]+, "
                         r"epoch 1/2, round 1, loss \d\.\d{4}, 2 workers", text), text
        assert "finished: 72 samples in 3 rounds: test accuracy" in text
        assert distml.load(tmp_path / "checkpoint.safetensors")["round"] == 3
    finally:
        for p in procs:
            p.kill()
