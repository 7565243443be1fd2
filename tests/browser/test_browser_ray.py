"""The worker page behind `python -m server --ray`: a tab that joined gateway A moves to
gateway B when A dies (web/join.html reads /gateways; distml.distributed.browser
reconnects), A's share of the round in flight is reassigned, and the coordinator's
weights after training equal single-process SGD's: no step lost, none taken twice."""
import os
import time

import pytest

if os.environ.get("CI") == "true":
    import ray  # CI installs it through the dev extra: the tests must run there
else:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'distml[ray]')")

from server.ray import launch  # noqa: E402
from test_distributed_server import EXP, TOKEN, assert_state_close, reference_states  # noqa: E402

ROUNDS = 6
KILL_AT = 3  # gateway A's round in flight when it is killed


@pytest.fixture(scope="module")
def ray_instance():
    launch.connect(None, num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def wait_until(condition, timeout, what):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_worker_page_moves_to_the_next_gateway(browser_python, ray_instance):
    overrides = {"min_workers": 1}
    gateways, urls = launch.start_gateways(EXP, TOKEN, 2, max_restarts=0,
                                           overrides=overrides)
    coordinator = launch.start_coordinator(EXP, TOKEN, gateways, max_rounds=ROUNDS,
                                           overrides=overrides, dashboard=("127.0.0.1", 0))
    dashboard = ray.get(coordinator.start_dashboard.remote())
    run = coordinator.run.remote()
    base_a = urls[0].replace("ws://", "http://").removesuffix("/ws")
    page = browser_python._context.new_page()
    try:
        assert page.goto(f"{base_a}/gateways?token={TOKEN}").json() == {"gateways": urls}
        # delay: the tab waits 0.3 s before each round, so A dies with round 3 in flight
        page.goto(f"{base_a}/worker?token={TOKEN}&name=tab&delay=0.3", wait_until="commit")
        wait_until(lambda: ray.get(gateways[0].status.remote())["round"] >= KILL_AT, 180,
                   f"gateway A's round {KILL_AT}")
        ray.kill(gateways[0], no_restart=True)
        summary = ray.get(run, timeout=120)
        ray.get(gateways[1].finish.remote(), timeout=20)  # says bye to the tab
        page.wait_for_function("() => window.distmlWorker && ['finished', 'error']"
                               ".includes(window.distmlWorker.state)",
                               timeout=60_000, polling=100)
        view = page.evaluate("window.distmlWorker")
        state = ray.get(coordinator.state.remote())
        # the coordinator's dashboard renders the gateways (one down, failed once)
        page.goto(f"{dashboard}/?token={TOKEN}", wait_until="commit")
        page.wait_for_function("() => window.distmlStatus && window.distmlStatus.done",
                               timeout=30_000, polling=100)
        gateway_rows = page.eval_on_selector_all(
            "#gateways tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        summary_line = page.inner_text("#summary")
    finally:
        page.close()
        for actor in [coordinator, *gateways]:
            ray.kill(actor)

    assert view["state"] == "finished", view["error"]
    result = view["result"]
    assert result["url"] == urls[1] and len(result["moves"]) == 1, result
    assert result["rounds"] == ROUNDS and not result["errors"], result  # 2 on A, 4 on B
    assert view["states"].count("connecting") == 2
    history = summary["history"]
    assert summary["round"] == summary["version"] == ROUNDS
    assert [h["samples"] for h in history] == [24] * ROUNDS  # no step on fewer samples
    assert summary["stats"]["reassigned_samples"] == 24  # A's round 3, all of it to B
    assert [h["workers"] for h in history] == [1] * ROUNDS
    assert_state_close(state, reference_states(ROUNDS)[ROUNDS])
    assert summary_line.startswith(f"finished: round {ROUNDS}")
    assert [(r[0], r[1], r[2], r[6]) for r in gateway_rows] == [
        ("0", urls[0], "down", "1"), ("1", urls[1], "up", "0")]
    assert int(gateway_rows[0][5]) + int(gateway_rows[1][5]) == 24 * ROUNDS
