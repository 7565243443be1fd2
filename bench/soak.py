"""Soak benchmark of the parameter server on a hostile network (issue 11). Not a test and
not in CI: it takes minutes (the full 2,000 rounds: run it on a quiet machine).

    .cache/venv/bin/python bench/soak.py [--rounds 2000] [--workers 8] [--seed 0]

The server runs as its own process (`python -m server`, bench/soak_experiment.py: an MLP
with BatchNorm on a synthetic 4-class problem, global batch 32) for `--rounds` rounds,
while on 127.0.0.1 up to `--workers` CPython worker processes come and go (join, leave
with a bye, or SIGKILL), and from other loopback addresses

- a fuzzing client (127.0.0.3): junk frames and 1 MB frames before its hello, wrong
  tokens, connections that never say hello, junk after a hello, HTTP requests for the
  status with wrong tokens and for paths outside the served folders;
- a worker sending absurd updates (127.0.0.2, then .4, .5, ... each time its address is
  banned): in about a third of its rounds gradients near 3e38 and a BatchNorm
  running_var of -1e30.

It records the server's RSS and round over time (from /proc and /status.json), the
rounds completed, the server's counters and the final test accuracy; then the clean
run: the same server with `--workers` workers that stay and nobody else (and, for
reference, single-process SGD with the same seed, sample order and batch: with
BatchNorm, statistics over a worker's share of the batch differ from the whole batch's).
It writes bench/results/soak.json.
"""
import argparse
import asyncio
import http.client
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import write_json  # noqa: E402

import distml  # noqa: E402
from distml.autograd import no_grad  # noqa: E402
from distml.distributed import codec  # noqa: E402
from distml.distributed.experiment import load_experiment  # noqa: E402
from distml.distributed.worker import (  # noqa: E402
    ServerError, TransportClosed, WebsocketsTransport, Worker, http_fetcher)

EXP = ROOT / "bench" / "soak_experiment.py"
TOKEN = "soak-token"
FUZZ_HOST, ABSURD_HOSTS = "127.0.0.3", [f"127.0.0.{i}" for i in [2] + list(range(4, 200))]


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class ServerProcess:
    """`python -m server` with its output lines read by a thread."""

    def __init__(self, rounds, checkpoint_dir):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "server", str(EXP), "--port", "0", "--workers-token", TOKEN,
             "--max-rounds", str(rounds), "--min-workers", "4", "--checkpoint-dir",
             str(checkpoint_dir), "--checkpoint-every", "50", "--hello-timeout", "5", "-q"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, self.port = [], None
        self._port_known = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
            m = re.search(r"listening on .* \(port (\d+)\)", line)
            if m:
                self.port = int(m.group(1))
                self._port_known.set()
        self._port_known.set()

    def wait_port(self, timeout=60):
        self._port_known.wait(timeout)
        if self.port is None:
            raise RuntimeError("the server did not start:\n" + "\n".join(self.lines))
        return self.port


# -- churn -----------------------------------------------------------------------------

class Churn:
    """Up to `n` worker processes on 127.0.0.1; every 0.5-2 s one joins, leaves (SIGINT:
    it says bye) or is killed (SIGKILL). At least half of them stay."""

    def __init__(self, url, n, rng):
        self.url, self.n, self.rng = url, n, rng
        self.procs, self.counts = [], {"joined": 0, "left": 0, "killed": 0}
        self.env = dict(os.environ, PYTHONPATH=str(ROOT))

    def spawn(self):
        i = self.counts["joined"] = self.counts["joined"] + 1
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "distml.distributed.worker", self.url, "--token", TOKEN,
             "--name", f"soak-{i}"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    async def run(self, stop, churn=True):
        for _ in range(self.n):
            self.spawn()
        while churn and not stop.is_set():
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))
            self.procs = [p for p in self.procs if p.poll() is None]
            if len(self.procs) < self.n // 2 or (len(self.procs) < self.n and
                                                  self.rng.random() < 0.5):
                self.spawn()
                continue
            victim = self.procs.pop(self.rng.randrange(len(self.procs)))
            if self.rng.random() < 0.5:
                victim.send_signal(signal.SIGINT)
                self.counts["left"] += 1
            else:
                victim.send_signal(signal.SIGKILL)
                self.counts["killed"] += 1

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait()


# -- the fuzzing client ------------------------------------------------------------------

async def _ws(url, host):
    from websockets.asyncio.client import connect
    return await asyncio.wait_for(connect(url, compression=None, local_addr=(host, 0),
                                          open_timeout=5, close_timeout=1), 10)


def _http(port, path, host=FUZZ_HOST):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(host, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


async def fuzz(url, port, stop, rng, counts):
    hello = codec.encode("hello", {"token": TOKEN, "protocol": 1, "capabilities": {}})
    holders = set()

    async def hold():  # never says hello: the server's deadline closes it
        try:
            ws = await _ws(url, FUZZ_HOST)
            await asyncio.wait_for(ws.wait_closed(), 30)
            counts["held_closed"] += 1
        except Exception:
            counts["refused"] += 1

    while not stop.is_set():
        kind = rng.choice(["junk", "big", "wrong_token", "hold", "http", "after_hello"])
        counts[kind] += 1
        try:
            if kind == "hold":
                if len(holders) < 8:
                    task = asyncio.create_task(hold())
                    holders.add(task)
                    task.add_done_callback(holders.discard)
            elif kind == "http":
                path = rng.choice(["/status.json?token=guess", "/", "/../etc/passwd",
                                   "/experiment.py", "/web/%2e%2e/x", "/worker"])
                status, _ = await asyncio.to_thread(_http, port, path)
                counts[f"http_{status}"] += 1
            else:
                ws = await _ws(url, FUZZ_HOST)
                try:
                    if kind == "after_hello":
                        await ws.send(hello)
                        await asyncio.wait_for(ws.recv(), 5)
                    if kind == "wrong_token":
                        await ws.send(codec.encode("hello", {"token": f"guess{rng.random()}",
                                                             "protocol": 1,
                                                             "capabilities": {}}))
                    elif kind == "big":
                        await ws.send(bytes(1 << 20))
                    else:
                        for _ in range(rng.randrange(1, 20)):
                            data = bytearray(hello)
                            for _ in range(rng.randrange(0, 8)):
                                data[rng.randrange(len(data))] = rng.getrandbits(8)
                            await ws.send(bytes(data) if rng.random() < 0.7 else
                                          os.urandom(rng.randrange(2000)))
                    await asyncio.wait_for(ws.recv(), 2)
                    await ws.close()
                except Exception:
                    pass
                if ws.close_code == 1009:
                    counts["closed_1009"] += 1
        except Exception:
            counts["refused"] += 1
        await asyncio.sleep(rng.uniform(0.05, 0.3))
    for task in list(holders):
        task.cancel()


# -- the worker sending absurd updates ----------------------------------------------------

class AbsurdWorker(Worker):
    def __init__(self, *a, rng, counts, **kw):
        super().__init__(*a, **kw)
        self.rng, self.counts = rng, counts

    def compute(self, indices):
        grads, buffers, loss = super().compute(indices)
        if self.rng.random() < 0.35:
            self.counts["absurd_rounds"] += 1
            grads = {k: np.full(tuple(v.shape), 3e38, np.float32) for k, v in grads.items()}
            buffers = {k: np.full(tuple(v.shape), -1e30, np.float32)
                       if k.endswith("running_var") else v for k, v in buffers.items()}
        else:
            self.counts["honest_rounds"] += 1
        return grads, buffers, loss


async def absurd(url, stop, rng, counts):
    hosts = iter(ABSURD_HOSTS)
    host = next(hosts)
    while not stop.is_set():
        try:
            from websockets.asyncio.client import connect
            ws = await connect(url, compression=None, max_size=64 << 20, local_addr=(host, 0))
            w = AbsurdWorker(WebsocketsTransport(ws), TOKEN, http_fetcher(url), name="absurd",
                             offload=True, rng=rng, counts=counts)
            await w.run()
        except ServerError as e:
            if "dropped for bad updates" in str(e):
                counts["banned"] += 1
                host = next(hosts)
            else:
                await asyncio.sleep(0.5)
        except (TransportClosed, OSError):
            if stop.is_set():
                return
            counts["reconnects"] += 1
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # keep soaking; say what happened
            counts["errors"] += 1
            counts.setdefault("last_error", repr(e))
            await asyncio.sleep(0.5)


# -- the clean reference ---------------------------------------------------------------------

def clean_accuracy(rounds):
    """Single-process SGD with the server's seed, sample order and global batch."""
    from server.rounds import epoch_permutation
    exp = load_experiment(EXP.read_bytes())
    hp, seed = exp.hyperparameters, exp.hyperparameters["seed"]
    distml.manual_seed(seed)
    model = exp.make_model()
    opt = exp.make_optimizer(model.parameters())
    data, test = exp.make_dataset(True), exp.make_dataset(False)
    n, batch, done, epoch = len(data), hp["global_batch"], 0, 0
    while done < rounds:
        perm = epoch_permutation(seed, epoch, n)
        for pos in range(0, n, batch):
            if done == rounds:
                break
            x, y = data.get_batch(perm[pos:pos + batch])
            opt.zero_grad()
            exp.loss_fn(model(x), y).backward()
            opt.step()
            done += 1
        epoch += 1
    model.eval()
    with no_grad():
        x, y = test.get_batch(list(range(len(test))))
        return float((model(x).argmax(dim=1) == y).float().mean().item())


# -- the run ---------------------------------------------------------------------------------

async def soak(args, hostile=True):
    """One server run: with churn, fuzzing and the absurd worker, or (hostile=False) the
    clean run: `--workers` workers that stay, nobody else."""
    from collections import Counter
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="distml-soak-") as ckpt:
        server = ServerProcess(args.rounds, ckpt)
        port = await asyncio.to_thread(server.wait_port)
        url = f"ws://127.0.0.1:{port}/ws"
        stop = asyncio.Event()
        churn = Churn(url, args.workers, random.Random(rng.random()))
        fuzz_counts, absurd_counts = Counter(), Counter()
        tasks = [asyncio.create_task(churn.run(stop, churn=hostile))]
        if hostile:
            tasks += [asyncio.create_task(fuzz(url, port, stop, random.Random(rng.random()),
                                               fuzz_counts)),
                      asyncio.create_task(absurd(url, stop, random.Random(rng.random()),
                                                 absurd_counts))]
        series, last_status, t0 = [], None, time.monotonic()
        progress_at, stalled = (0, t0), False
        try:
            while server.p.poll() is None:
                await asyncio.sleep(args.sample_s)
                try:
                    import json
                    status, body = await asyncio.to_thread(
                        _http, port, f"/status.json?token={TOKEN}", "127.0.0.1")
                    if status == 200:
                        last_status = json.loads(body)
                except OSError:
                    pass
                now_round = last_status["round"] if last_status else 0
                if now_round != progress_at[0]:
                    progress_at = (now_round, time.monotonic())
                elif time.monotonic() - progress_at[1] > args.stall_s:
                    stalled = True  # a soak finding: keep the log, stop
                    break
                rss = rss_mb(server.p.pid)
                if rss is not None:
                    series.append([round(time.monotonic() - t0, 1),
                                   last_status["round"] if last_status else 0, round(rss, 1)])
                    if args.verbose:
                        print(f"{series[-1][0]:7.1f} s  round {series[-1][1]:5d}  "
                              f"RSS {rss:6.1f} MB", flush=True)
        finally:
            stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            churn.stop()
            if server.p.poll() is None:
                server.p.kill()
            server.p.wait()
        wall = time.monotonic() - t0
    text = "\n".join(server.lines)
    m = re.search(r"test accuracy ([\d.]+)% after (\d+) rounds", text)
    accuracy, rounds_done = (float(m.group(1)) / 100, int(m.group(2))) if m else (None, None)
    rss = [r for _, _, r in series]
    return {
        "rounds_requested": args.rounds, "rounds_completed": rounds_done,
        "server_exit_code": server.p.returncode, "wall_s": round(wall, 1),
        "stalled": stalled, "accuracy": accuracy,
        "rss_mb": {"first": rss[0] if rss else None, "max": max(rss, default=None),
                   "last": rss[-1] if rss else None},
        "server_stats": last_status["stats"] if last_status else None,
        "churn": churn.counts, "fuzz": dict(fuzz_counts), "absurd_worker": dict(absurd_counts),
        "server_log_tail": server.lines[-40 if stalled else -5:], "rss_series": series,
        "server_log": server.lines,
        "experiment": str(EXP.relative_to(ROOT)), "workers": args.workers,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-s", type=float, default=1.0, help="seconds between RSS samples")
    ap.add_argument("--stall-s", type=float, default=120.0,
                    help="stop when no round finished for this many seconds")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    ap.add_argument("--log", default=None, help="write the hostile run's server log here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.getLogger("distml.worker").setLevel(logging.ERROR)  # the absurd worker's refusals
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up the processes too
    result = asyncio.run(soak(args))
    if args.log:
        Path(args.log).write_text("\n".join(result.pop("server_log")) + "\n")
    else:
        result.pop("server_log")
    clean = asyncio.run(soak(args, hostile=False))
    clean.pop("server_log")
    result["clean_run"] = {k: clean[k] for k in ("rounds_completed", "accuracy", "wall_s",
                                                 "rss_mb", "server_stats")}
    result["single_process_accuracy"] = clean_accuracy(args.rounds)
    if result["accuracy"] is not None and clean["accuracy"] is not None:
        result["accuracy_gap"] = round(clean["accuracy"] - result["accuracy"], 4)
    write_json(args.out, result)
    summary = {k: result.get(k) for k in ("rounds_completed", "server_exit_code", "wall_s",
                                           "accuracy", "accuracy_gap", "rss_mb", "churn")}
    print("clean run:", result["clean_run"], "single process:",
          result["single_process_accuracy"])
    print(summary)
    print("server:", result["server_stats"])
    print("fuzz:", result["fuzz"])
    print("absurd worker:", result["absurd_worker"])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
