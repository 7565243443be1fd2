"""Page code of bench/browser_profile.py (runs in the Pyodide worker after
distml_setup.py, whose names it uses): one captured step, then timed replays."""
import json as _json
import statistics as _st
import time as _time

import distml
import distml.nn.functional as F
from distml.backends import get_backend

DEV = "webgl"
_be = get_backend(DEV)

def profile_step(model, batch, replays, prefix=True):
    distml.manual_seed(0)
    net, shape = _model(model)  # noqa: F821 (distml_setup.py's, same namespace)
    net = net.to(DEV).train()
    opt = distml.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = distml.randn(batch, *shape, device=DEV)
    y = distml.randint(0, 10, (batch,), device=DEV)

    def fb(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    core = distml.compile(fb)
    for _ in range(6):
        core(x, y).item()
    graph = core._capture.graph
    assert graph is not None, core.reason
    spec = _json.dumps({"args": [[s, [x, y][k]._buf.storage.handle]
                                 for s, k in graph.arg_slots], "patches": [], "outs": []})
    rows = []
    n_ops = _json.loads(_be._gl.replayTimed(graph.handle, spec, 0))[4]
    for upto in range(0, n_ops + 1 if prefix else 0):
        runs = [_json.loads(_be._gl.replayTimed(graph.handle, spec, upto))
                for _ in range(replays)]
        rows.append([runs[0][1], runs[0][2], runs[0][3], min(r[0] for r in runs)])
    names = _json.loads(_be._gl.graphOps(graph.handle))
    per_op = []
    for k in range(n_ops):
        base = min(_be._gl.timeOp(graph.handle, spec, k, 0) for _ in range(3))
        t = min(_be._gl.timeOp(graph.handle, spec, k, 20) for _ in range(3))
        per_op.append(round((t - base) / 20, 4))

    def timed(fn, n=10):
        out = []
        for _ in range(n):
            t0 = _time.perf_counter()
            fn()
            out.append(_time.perf_counter() - t0)
        return round(_st.median(out) * 1e3, 3)
    loss = core(x, y)
    split = []
    for _ in range(10):
        t0 = _time.perf_counter()
        l2 = core(x, y)
        t1 = _time.perf_counter()
        l2.item()
        split.append((t1 - t0, _time.perf_counter() - t1))
    return {"draws": rows, "per_op_ms": per_op, "ops": names, "n_draws": graph.n_draws,
            "step_ms": timed(lambda: core(x, y).item()),
            "replay_only_ms": timed(lambda: core(x, y)),
            "read_back_only_ms": timed(lambda: loss.item()),
            "split_replay_ms": round(_st.median(a for a, _ in split) * 1e3, 3),
            "split_read_ms": round(_st.median(b for _, b in split) * 1e3, 3),
}
