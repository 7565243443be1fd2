"""Hierarchical aggregation on Ray (server/ray/): gateways sum their workers' answers,
the coordinator takes the step. With the mean this must equal single-process SGD (as the
flat server does, tests/distributed/test_distributed_server.py), also when a gateway is killed mid
training and its workers move to the other one.

One local Ray instance per module (2 CPUs, no dashboard); the workers are CPython
`Worker`s in this process's event loop, the gateways and the coordinator Ray actors.
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest

if os.environ.get("CI") == "true":
    import ray  # CI installs it through the dev extra: the tests must run there
else:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'distml[ray]')")

from distml.distributed.worker import TransportClosed, Worker, run_worker  # noqa: E402
from server.ray import launch  # noqa: E402
from test_distributed_server import (  # noqa: E402
    EXP, TOKEN, assert_state_close, new_worker, reference_states)

TIMEOUT = 120


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read()


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    launch.connect(None, num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def start(n_gateways, rounds, min_workers, **coordinator_kw):
    overrides = {"min_workers": min_workers}
    gateways, urls = launch.start_gateways(EXP, TOKEN, n_gateways, max_restarts=0,
                                           overrides=overrides)
    coordinator = launch.start_coordinator(EXP, TOKEN, gateways, max_rounds=rounds,
                                           overrides=overrides, **coordinator_kw)
    return coordinator, gateways, urls


async def run_coordinator(coordinator, restarts=0):
    """launch.train's loop, awaited: run again after each restart Ray makes."""
    died = 0
    while True:
        try:
            return await asyncio.wait_for(coordinator.run.remote(), TIMEOUT)
        except ray.exceptions.ActorUnavailableError:  # restarting: ask again
            await asyncio.sleep(0.5)
        except ray.exceptions.RayActorError:
            died += 1
            if died > restarts:
                raise


async def train(coordinator, gateways, workers, during=None, restarts=0):
    """The coordinator's run and the workers (coroutines) to the end; `during()` runs
    alongside (e.g. kills a gateway)."""
    tasks = [asyncio.create_task(w) for w in workers]
    side = asyncio.create_task(during()) if during else None
    try:
        summary = await run_coordinator(coordinator, restarts)
        if side:
            await side
        for g in gateways:
            try:
                await asyncio.wait_for(g.finish.remote(), 20)
            except ray.exceptions.RayActorError:
                pass  # the killed one
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
    finally:
        for t in tasks:
            t.cancel()
    state = await coordinator.state.remote()
    for actor in [coordinator, *gateways]:
        ray.kill(actor)
    return summary, state, results


@pytest.mark.parametrize("n_workers", [2, 3])
def test_two_gateways_equal_single_process_sgd(n_workers):
    rounds = 6  # crosses an epoch boundary, as the flat server's test
    want = reference_states(rounds)[rounds]
    coordinator, gateways, urls = start(2, rounds, n_workers)
    workers = [run_worker(urls[i % 2], TOKEN) for i in range(n_workers)]
    summary, state, results = asyncio.run(train(coordinator, gateways, workers))
    assert results == ["training finished"] * n_workers
    assert summary["round"] == summary["version"] == rounds
    assert [h["samples"] for h in summary["history"]] == [24] * rounds
    assert [h["gateways"] for h in summary["history"]] == [2] * rounds
    assert [h["workers"] for h in summary["history"]] == [n_workers] * rounds
    assert [e for e, _ in summary["accuracy"]] == [1, 1.5]
    assert summary["stats"]["reassigned_samples"] == 0
    assert_state_close(state, want)


class PausingWorker(Worker):
    """At gateway round 3, sets `paused` and waits for its connection to go away (at most
    5 s) instead of answering."""
    paused = None

    async def on_round(self, frame):
        if frame.fields["round"] == 3 and not self.paused.is_set():
            self.paused.set()
            await asyncio.wait_for(self.transport.ws.wait_closed(), 5)
        await super().on_round(frame)


async def reconnecting(urls, cls=Worker, attempts=5):
    """A worker that moves to the next URL at once when its connection is lost (run_worker's
    loop, with a Worker class of the test's)."""
    for attempt in range(attempts):
        try:
            worker = await new_worker(urls[attempt % len(urls)], cls, delay_s=0.1)
            return await worker.run()
        except TransportClosed:
            await asyncio.sleep(0.2 if (attempt + 1) % len(urls) == 0 else 0)
    raise TransportClosed("out of attempts")


def test_killed_gateway_workers_move_and_no_step_is_lost():
    rounds = 8  # 5 rounds after the kill, 0.1 s each at least: time to move
    want = reference_states(rounds)[rounds]
    coordinator, gateways, urls = start(2, rounds, 4)

    async def main():
        PausingWorker.paused = asyncio.Event()
        # each worker knows both gateways: its own first, the other when it goes away
        workers = [reconnecting([urls[i % 2], urls[1 - i % 2]],
                                PausingWorker if i == 1 else Worker) for i in range(4)]

        async def kill_gateway_1():  # while one of its workers holds round 3's samples
            await PausingWorker.paused.wait()
            ray.kill(gateways[1], no_restart=True)

        return await train(coordinator, gateways, workers, kill_gateway_1)

    summary, state, results = asyncio.run(main())
    assert results == ["training finished"] * 4  # gateway 1's two workers finished on 0
    history = summary["history"]
    assert [h["samples"] for h in history] == [24] * rounds  # no step on fewer samples
    assert summary["stats"]["reassigned_samples"] == 12  # gateway 1's half of round 3
    assert [h["gateways"] for h in history] == [2, 2] + [1] * 6
    assert history[-1]["workers"] == 4  # all four now behind gateway 0
    g0, g1 = summary["gateways"]  # as the dashboard shows them
    assert (g0["alive"], g0["failures"], g0["workers"]) == (True, 0, 4)
    assert (g1["alive"], g1["failures"], g1["restarts"]) == (False, 1, 0)
    assert g0["samples"] + g1["samples"] == 24 * rounds and g1["samples"] == 24
    assert_state_close(state, want)


def test_dashboard_shows_rounds_loss_and_each_gateways_workers():
    rounds = 8
    coordinator, gateways, urls = start(2, rounds, 3, dashboard=("127.0.0.1", 0))
    base = ray.get(coordinator.start_dashboard.remote())
    seen = []

    async def poll():
        while True:
            _, _, body = await asyncio.to_thread(get, f"{base}/status.json?token={TOKEN}")
            seen.append(json.loads(body))
            if seen[-1]["done"]:
                return
            await asyncio.sleep(0.05)

    workers = [run_worker(urls[i % 2], TOKEN, name=f"cpy{i}", delay_s=0.1) for i in range(3)]
    pages = [get(f"{base}/?token={TOKEN}"), get(f"{base}/web/chart.js")]
    with pytest.raises(Exception, match="401"):  # the status is behind the token
        get(f"{base}/status.json")
    summary, _, results = asyncio.run(train(coordinator, gateways, workers, poll))
    assert results == ["training finished"] * 3
    status, ctype, body = pages[0]
    assert status == 200 and ctype.startswith("text/html") and b"/status.json" in body
    assert pages[1][0] == 200

    live = [s for s in seen if s["round"] >= 4 and len(s["workers"]) == 3]
    assert live, seen[-1]
    s = live[-1]
    assert s["experiment"] == "experiment_tiny" and s["round"] <= rounds
    assert s["samples_seen"] in (24 * (s["round"] - 1), 24 * s["round"])
    assert len(s["loss"]) >= 3 and all(loss > 0 for _, loss in s["loss"])
    assert s["samples_per_s"] > 0
    assert sorted((w["gateway"], w["name"]) for w in s["workers"]) == \
        [(0, "cpy0"), (0, "cpy2"), (1, "cpy1")]
    assert all(w["samples_per_s"] > 0 and w["address"].startswith("127.0.0.1:")
               for w in s["workers"])
    g0, g1 = s["gateways"]
    assert [g0["url"], g1["url"]] == urls
    assert (g0["workers"], g1["workers"]) == (2, 1) and g0["alive"] and g1["alive"]
    assert g0["samples_per_s"] > 0 and g1["samples_per_s"] > 0
    assert (g0["failures"], g0["restarts"], g1["failures"], g1["restarts"]) == (0, 0, 0, 0)
    assert 0 < g1["samples"] < g0["samples"]  # split 2:1 by ready workers
    assert seen[-1]["round"] == rounds
    assert sum(g["samples"] for g in seen[-1]["gateways"]) == 24 * rounds


def test_killed_coordinator_resumes_from_its_checkpoint(tmp_path):
    rounds = 8
    want = reference_states(rounds)[rounds]
    coordinator, gateways, urls = start(2, rounds, 2, checkpoint_dir=str(tmp_path),
                                        checkpoint_every=2, max_restarts=1)

    async def kill_coordinator():
        while (await coordinator.progress.remote())["round"] < 5:
            await asyncio.sleep(0.01)
        ray.kill(coordinator, no_restart=False)  # Ray restarts it: it resumes

    workers = [run_worker(urls[i], TOKEN, delay_s=0.05) for i in range(2)]
    summary, state, results = asyncio.run(train(coordinator, gateways, workers,
                                                kill_coordinator, restarts=1))
    assert results == ["training finished"] * 2  # the workers never noticed
    assert summary["round"] == summary["version"] == rounds
    assert summary["history"][0]["round"] - 1 in (4, 6)  # resumed at a checkpoint
    assert_state_close(state, want)


def test_gateway_restarted_by_ray_listens_on_its_port_again():
    with socket.socket() as s:  # a free port (a restarted gateway binds the same one)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gateways, urls = launch.start_gateways(EXP, TOKEN, 1, ports=[port], max_restarts=1)
    first_pid = ray.get(gateways[0].status.remote())["pid"]
    ray.kill(gateways[0], no_restart=False)

    async def main():  # until the new process answers
        for _ in range(200):
            try:
                status = await asyncio.wait_for(gateways[0].status.remote(), 20)
                if status["pid"] != first_pid:
                    return await gateways[0].start.remote(), status["ready"]
            except ray.exceptions.RayActorError:  # still restarting
                pass
            await asyncio.sleep(0.1)

    url, ready = asyncio.run(main())
    assert url == urls[0] == f"ws://127.0.0.1:{port}/ws" and ready == 0

    async def join():
        worker = await new_worker(url)
        await worker.handshake()
        await worker.transport.close()
        return worker.worker_id

    assert asyncio.run(join()) == "w1"  # the restarted gateway's first worker
    # it forgot the other gateways' URLs (launch.py told the first process); the
    # coordinator's next poll tells it again, and its /gateways lists them for the page
    base = url.replace("ws://", "http://").removesuffix("/ws")
    assert json.loads(get(f"{base}/gateways?token={TOKEN}")[2]) == {"gateways": [url]}
    others = [url, "ws://127.0.0.1:1/ws"]
    assert ray.get(gateways[0].snapshot.remote(others))["url"] == url
    assert json.loads(get(f"{base}/gateways?token={TOKEN}")[2]) == {"gateways": others}
    with pytest.raises(Exception, match="401"):
        get(f"{base}/gateways")
    ray.kill(gateways[0], no_restart=True)


def test_split_by_weight_is_contiguous_and_proportional():
    from server.ray.coordinator import split_by_weight
    items = list(range(24))
    assert split_by_weight(items, [1, 1]) == [items[:12], items[12:]]
    chunks = split_by_weight(items, [3, 1, 1])
    assert [len(c) for c in chunks] == [14, 5, 5] and sum(chunks, []) == items
    assert [len(c) for c in split_by_weight(list(range(5)), [1, 1, 1])] == [2, 2, 1]


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_single_server_does_not_import_ray():
    code = "import sys, server.__main__; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("flags, message", [
    (["--gateways", "0"], "--gateways must be at least 1"),
    (["--aggregate", "median"], "only --aggregate mean"),
    (["--max-grad-norm", "1"], "only --aggregate mean, no --max-grad-norm")])
def test_ray_flags_checked_before_starting_ray(flags, message):
    p = subprocess.run([sys.executable, "-m", "server", str(EXP), "--ray", *flags],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and message in p.stderr
    assert "Started a local Ray instance" not in p.stderr
