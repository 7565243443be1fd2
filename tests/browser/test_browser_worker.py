"""A browser tab as a distributed worker: the page joins a real parameter server over
its own WebSocket (distml.distributed.browser) and the server's weights after a few
rounds equal single-process SGD's."""
import concurrent.futures
import json

from test_distributed_checkpoint import TOKEN, read_checkpoint, server
from test_distributed_server import assert_state_close, reference_states

ROUNDS = 3


def test_browser_tab_trains_with_the_server(browser_python, tmp_path):
    srv, port = server(tmp_path / "ckpt", "--max-rounds", str(ROUNDS))
    page = browser_python._context.new_page()
    try:
        # the server serves the page too, so the worker's fetches are same-origin
        page.goto(f"http://127.0.0.1:{port}/web/test.html?timeout=120000",
                  wait_until="commit")
        page.wait_for_function("() => window.distmlStatus && window.distmlStatus !== "
                               "'loading'", timeout=120_000, polling=100)
        assert page.evaluate("window.distmlStatus") == "ready"
        code = ("from distml.distributed.browser import run_browser_worker\n"
                f"await run_browser_worker('ws://127.0.0.1:{port}/ws', {TOKEN!r}, "
                "name='tab')\n")
        outcome = page.evaluate("(code) => window.distmlCall(code, 120000)", code)
        assert outcome["ok"], outcome.get("traceback") or outcome.get("error")
        result = outcome["result"]
        assert result["rounds"] == ROUNDS and not result["errors"], json.dumps(result)
        assert srv.wait(60) == 0
        _, weights = read_checkpoint(tmp_path / "ckpt" / "checkpoint.safetensors")
        assert_state_close(weights, reference_states(ROUNDS)[-1])
    finally:
        page.close()
        srv.kill()


def test_worker_page_joins_and_trains(browser_python, tmp_path):
    """The page a user opens to join (/worker, web/join.html) boots Python, joins with the
    token from its URL, trains and shows its state; the dashboard (/) links to it."""
    srv, port = server(tmp_path / "ckpt", "--max-rounds", "2")
    base = f"http://127.0.0.1:{port}"
    dash = browser_python._context.new_page()
    page = browser_python._context.new_page()
    try:
        dash.goto(f"{base}/?token={TOKEN}", wait_until="commit")
        dash.wait_for_function("() => window.distmlStatus", timeout=30_000, polling=100)
        assert dash.evaluate("document.getElementById('join').href") == \
            f"{base}/worker?token={TOKEN}"
        assert dash.evaluate("window.distmlStatus.round") == 0  # waiting for a worker

        page.goto(f"{base}/worker?token={TOKEN}&name=tab", wait_until="commit")
        page.wait_for_function("() => window.distmlWorker && ['finished', 'error']"
                               ".includes(window.distmlWorker.state)",
                               timeout=180_000, polling=100)
        view = page.evaluate("window.distmlWorker")
        assert view["state"] == "finished", view["error"]
        assert view["result"]["rounds"] == 2 and not view["result"]["errors"], view
        assert view["states"] == ["loading", "connecting", "joining", "idle", "training",
                                  "idle", "training", "idle", "finished"]
        assert view["round"] == 2 and view["rounds"] == 2 and view["samples_per_s"] > 0
        assert "finished" in page.inner_text("#state")
        assert srv.wait(60) == 0
    finally:
        page.close()
        dash.close()
        srv.kill()


def _topk_reference(rounds, compression):
    """The server's weights after `rounds` rounds with one CPython (numpy) worker."""
    from distml.distributed.experiment import state_arrays
    from test_distributed_server import new_worker, scenario, start_server, train

    async def main():
        orch, transport = await start_server(max_rounds=rounds, compression=compression)
        await train(orch, transport, [await new_worker(transport.url)])
        return state_arrays(orch.model)
    # in its own thread: Playwright's sync API keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: scenario(main())).result()


def test_browser_tab_trains_under_topk(browser_python, tmp_path):
    """Top-k with error feedback in the page (pure Python, no numpy) picks and keeps what
    a numpy worker does: the same weights after a few rounds."""
    srv, port = server(tmp_path / "ckpt", "--max-rounds", str(ROUNDS),
                       "--compression", "topk:0.3")
    page = browser_python._context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/web/test.html?timeout=120000",
                  wait_until="commit")
        page.wait_for_function("() => window.distmlStatus && window.distmlStatus !== "
                               "'loading'", timeout=120_000, polling=100)
        code = ("from distml.distributed.browser import run_browser_worker\n"
                f"await run_browser_worker('ws://127.0.0.1:{port}/ws', {TOKEN!r}, "
                "name='tab')\n")
        outcome = page.evaluate("(code) => window.distmlCall(code, 120000)", code)
        assert outcome["ok"], outcome.get("traceback") or outcome.get("error")
        result = outcome["result"]
        assert result["rounds"] == ROUNDS and not result["errors"], json.dumps(result)
        assert srv.wait(60) == 0
        _, weights = read_checkpoint(tmp_path / "ckpt" / "checkpoint.safetensors")
        assert_state_close(weights, _topk_reference(ROUNDS, "topk:0.3"))
        plain = reference_states(ROUNDS)[-1]
        assert any(abs(weights[k] - plain[k]).max() > 1e-4 for k in plain)  # sparsified
    finally:
        page.close()
        srv.kill()
