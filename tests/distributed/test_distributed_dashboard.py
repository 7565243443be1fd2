"""The server's pages: the dashboard at /, the worker page at /worker and the live status
at /status.json, read over HTTP while a CPython worker trains (no browser needed)."""
import asyncio
import json
import urllib.request

from test_distributed_server import TOKEN, new_worker, scenario, start_server, train


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read()


def test_dashboard_and_status_while_training():
    async def main():
        orch, transport = await start_server(max_rounds=8, overrides={"eval_every": 3})
        base = f"http://127.0.0.1:{transport.port}"
        worker = await new_worker(transport.url, name="cpy", delay_s=0.1)  # ~8 rounds/s
        seen = []

        async def poll():
            while not orch.done:
                _, _, body = await asyncio.to_thread(get, base + "/status.json?token=" + TOKEN)
                seen.append(json.loads(body))
                await asyncio.sleep(0.05)

        poller = asyncio.create_task(poll())
        pages = [await asyncio.to_thread(get, base + p) for p in (f"/?token={TOKEN}", "/worker")]
        await train(orch, transport, [worker])
        poller.cancel()
        return orch, pages, seen

    orch, pages, seen = scenario(main())
    for status, ctype, body in pages:
        assert status == 200 and ctype.startswith("text/html")
    dashboard, join = (body.decode() for _, _, body in pages)
    assert "/status.json" in dashboard and "/worker" in dashboard and "/web/chart.js" in dashboard
    assert "run_browser_worker" in join and "/web/distml.js" in join

    # mid-training: the worker with its speed and last-seen time, the round, the losses
    live = [s for s in seen if s["workers"] and s["round"] >= 4]
    assert live, seen[-1]
    s = live[-1]
    assert s["experiment"] == "experiment_tiny" and s["mode"] == "fixed_global"
    assert 4 <= s["round"] <= 8 and s["samples_seen"] in (24 * (s["round"] - 1), 24 * s["round"])
    (w,) = s["workers"]
    assert w["name"] == "cpy" and not w["browser"] and w["samples_per_s"] > 0
    assert w["address"].startswith("127.0.0.1:")  # for the workers' token only
    assert 0 <= w["last_seen_s"] < 5 and w["updates"] >= 3
    assert len(s["loss"]) >= 3 and all(loss > 0 for _, loss in s["loss"])
    assert [x for x, _ in s["accuracy"]][:1] == [72]  # eval_every 3 rounds of 24 samples
    # rounds only go forward
    rounds = [x["round"] for x in seen]
    assert rounds == sorted(rounds)
    final = orch.status()
    assert final["done"] and final["round"] == 8 and final["workers"] == []
    assert [x for x, _ in final["accuracy"]] == [72, 96, 144, 192]  # + epoch end + the stop
    assert 0 <= final["last_accuracy"] <= 1
