"""Hierarchical aggregation on Ray (server/ray/): gateways sum their workers' answers,
the coordinator takes the step. With the mean this must equal single-process SGD (as the
flat server does, tests/test_distributed_server.py), also when a gateway is killed mid
training and its workers move to the other one.

One local Ray instance per module (2 CPUs, no dashboard); the workers are CPython
`Worker`s in this process's event loop, the gateways and the coordinator Ray actors.
"""
import asyncio
import os

import pytest

if os.environ.get("CI") == "true":
    import ray  # CI installs it through the dev extra: the tests must run there
else:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'distml[ray]')")

from distml.distributed.worker import run_worker  # noqa: E402
from server.ray import launch  # noqa: E402
from test_distributed_server import EXP, TOKEN, assert_state_close, reference_states  # noqa: E402

TIMEOUT = 120


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    launch.connect(None, num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def start(n_gateways, rounds, min_workers):
    overrides = {"min_workers": min_workers}
    gateways, urls = launch.start_gateways(EXP, TOKEN, n_gateways, max_restarts=0,
                                           overrides=overrides)
    coordinator = launch.start_coordinator(EXP, TOKEN, gateways, max_rounds=rounds,
                                           overrides=overrides)
    return coordinator, gateways, urls


async def train(coordinator, gateways, workers, during=None):
    """The coordinator's run and the workers (coroutines) to the end; `during(coordinator)`
    runs alongside (e.g. kills a gateway)."""
    tasks = [asyncio.create_task(w) for w in workers]
    side = asyncio.create_task(during()) if during else None
    try:
        summary = await asyncio.wait_for(coordinator.run.remote(), TIMEOUT)
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


def test_killed_gateway_workers_move_and_no_step_is_lost():
    rounds = 8
    want = reference_states(rounds)[rounds]
    coordinator, gateways, urls = start(2, rounds, 4)
    # each worker knows both gateways: its own first, the other when it goes away
    workers = [run_worker([urls[i % 2], urls[1 - i % 2]], TOKEN, delay_s=0.05, reconnect=5,
                          backoff_s=0.2) for i in range(4)]

    async def kill_gateway_1():
        while (await coordinator.progress.remote())["round"] < 3:
            await asyncio.sleep(0.02)
        ray.kill(gateways[1], no_restart=True)

    summary, state, results = asyncio.run(train(coordinator, gateways, workers,
                                                kill_gateway_1))
    assert results == ["training finished"] * 4  # gateway 1's two workers finished on 0
    history = summary["history"]
    assert [h["samples"] for h in history] == [24] * rounds  # no step on fewer samples
    assert history[0]["gateways"] == 2 and history[-1]["gateways"] == 1
    assert history[-1]["workers"] == 4  # all four now behind gateway 0
    assert_state_close(state, want)
