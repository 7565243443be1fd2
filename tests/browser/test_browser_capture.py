"""distml.compile on the "webgl" device in headless Chromium: N captured steps equal N
eager steps from the same initial state bit for bit (losses, parameters, buffers), on the
benchmarks' models; a new batch size records again, a scheduled lr is honoured, and what a
recording cannot see (values read back, train()/eval(), a replaced tensor) runs eagerly."""
import pytest

PRELUDE = """
import json, distml, distml.webgl
from distml import nn
import distml.nn.functional as F
from distml.models import MLP, MnistCNN, BasicBlock

def stats():
    # draws, FFI calls and textures created (when the pool could not supply one: an
    # eager step's createTexture is an FFI call of its own, a replay's is not)
    s = distml.webgl.stats()
    return s["draws"], s["ffi_calls"], s["textures_created"]

def step_of(model, opt, check_inside=None):
    # the training step every test captures: forward, cross-entropy, backward, step
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if check_inside:
            check_inside(loss)
        return loss
    return step

def train(make, opt_of, data, compiled, sched_of=None, check_inside=None):
    distml.manual_seed(0)
    model = make().to("webgl")
    opt = opt_of(model)
    sched = sched_of(opt) if sched_of else None
    step = step_of(model, opt, check_inside)
    fn = distml.compile(step) if compiled else step
    losses, per_step = [], []
    for x, y in data:
        d0, c0, n0 = stats()
        loss = fn(x, y)
        d1, c1, n1 = stats()
        per_step.append([d1 - d0, c1 - c0, n1 - n0])
        losses.append(loss.item())
        if sched:
            sched.step()
    state = {k: v.tolist() for k, v in model.state_dict().items()}
    # a replay writes the gradients too (a fused update can copy one out of a product)
    state.update((k + ".grad", p.grad.tolist()) for k, p in model.named_parameters()
                 if p.grad is not None)
    return {"losses": losses, "state": state, "per_step": per_step,
            "replays": getattr(fn, "replays", 0), "reason": getattr(fn, "reason", None)}

def batches(n, shapes, classes=10, seed=1):
    distml.manual_seed(seed)
    out = []
    for k in range(n):
        shape = shapes[k % len(shapes)]
        out.append((distml.randn(*shape).to("webgl"),
                    distml.randint(0, classes, (shape[0],)).to("webgl")))
    return out

def both(*args, **kw):
    return {"eager": train(*args, compiled=False, **kw),
            "captured": train(*args, compiled=True, **kw)}
"""


@pytest.fixture(scope="module")
def page(browser_python):
    assert browser_python.run(PRELUDE + "distml.webgl.is_available()")
    return browser_python


def _same(out, replays):
    """Captured == eager exactly; at least `replays` calls replayed (at most 4 calls
    record: the first steps can differ, e.g. a momentum buffer that starts as a view)."""
    eager, cap = out["eager"], out["captured"]
    assert cap["losses"] == eager["losses"]          # bit for bit: float == float
    assert cap["state"].keys() == eager["state"].keys()
    for k in eager["state"]:
        assert cap["state"][k] == eager["state"][k], k
    assert cap["replays"] >= replays, cap["reason"]


def test_mlp_sgd_momentum_replays_bit_for_bit(page):
    out = page.run(PRELUDE + """
data = batches(8, [(64, 784)])
both(lambda: MLP(784, [32], 10),
     lambda m: distml.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), data)
""", timeout=300)
    # calls 1-4 run eagerly and are recorded: the first step differs (the momentum buffer
    # starts as the gradient, a transposed view for a weight), so does the second (that
    # buffer's strides); calls 3 and 4 line up, calls 5-8 replay
    _same(out, replays=4)
    eager, cap = out["eager"]["per_step"], out["captured"]["per_step"]
    # a replayed step runs the eager step's draws (fewer where fusion merged some), with
    # one FFI call (also when it creates the texture of the returned loss)
    assert all(d <= eager[-1][0] for d, _, _ in cap[4:]), (cap, eager)
    assert all(c == 1 for _, c, _ in cap[4:]), cap
    # a replay's loss takes the texture the last step's loss gave back when the loop let
    # go of it (the pool), not a new one every step
    assert all(n == 0 for _, _, n in cap[5:]), cap
    assert all(c - n >= d for d, c, n in eager[4:])
    print(f"\nMLP: draws per step eager {eager[-1][0]}, captured {cap[-1][0]}; FFI calls "
          f"eager {eager[-1][1]}, captured {cap[-1][1]}")


def test_mnist_cnn_adam_scheduler_dropout_replays_bit_for_bit(page):
    # dropout draws random numbers (the replay advances the generator), Adam's bias
    # correction changes every step and StepLR halves the lr every 2 steps
    out = page.run(PRELUDE + """
data = batches(7, [(4, 1, 28, 28)])
both(lambda: MnistCNN(width=4, hidden=16),
     lambda m: distml.optim.Adam(m.parameters(), lr=1e-2), data,
     sched_of=lambda o: distml.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5))
""", timeout=600)
    _same(out, replays=4)  # call 1 creates Adam's state, calls 2 and 3 line up


def test_adamw_amsgrad_with_cosine_schedule_replays_bit_for_bit(page):
    # amsgrad's maximum in Adam's one draw (five inputs, four outputs); decoupled decay
    out = page.run(PRELUDE + """
data = batches(7, [(16, 784)])
both(lambda: MLP(784, [32], 10),
     lambda m: distml.optim.AdamW(m.parameters(), lr=1e-2, amsgrad=True), data,
     sched_of=lambda o: distml.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5))
""", timeout=300)
    _same(out, replays=3)


def test_resnet_block_batchnorm_train_replays_bit_for_bit(page):
    out = page.run(PRELUDE + """
def net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                         nn.ReLU(), BasicBlock(8, 8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))
data = batches(6, [(4, 3, 8, 8)])
both(net, lambda m: distml.optim.SGD(m.parameters(), lr=0.1, momentum=0.9,
                                     weight_decay=1e-4), data)
""", timeout=600)
    _same(out, replays=2)  # running_mean/var and num_batches_tracked included
    # BatchNorm + ReLU, residual add + ReLU and ReLU's backward were fused in the replay
    assert out["captured"]["per_step"][-1][0] < out["eager"]["per_step"][-1][0]


def test_new_batch_size_records_again_and_scheduled_sgd_lr(page):
    # batches of 16 (4 calls), 8 (4 calls), 16 (4 calls); the lr changes at every step
    out = page.run(PRELUDE + """
data = batches(12, [(16, 784)] * 4 + [(8, 784)] * 4 + [(16, 784)] * 4)
both(lambda: MLP(784, [32], 10),
     lambda m: distml.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), data,
     sched_of=lambda o: distml.optim.lr_scheduler.ExponentialLR(o, gamma=0.7))
""", timeout=300)
    # the first 4 calls record (the first SGD steps differ), then each new batch size
    # records twice: 0 + 2 + 2 replays
    _same(out, replays=4)


def test_what_a_recording_cannot_see_runs_eagerly(page):
    out = page.run(PRELUDE + """
data = batches(4, [(8, 784)])
mk = lambda: MLP(784, [16], 10)
sgd = lambda m: distml.optim.SGD(m.parameters(), lr=0.1)
reads = both(mk, sgd, data, check_inside=lambda loss: loss.item())

# train()/eval() and a parameter replaced between calls record again
distml.manual_seed(0)
model = mk().to("webgl")
opt = sgd(model)
fn = distml.compile(step_of(model, opt))
x, y = data[0]
for _ in range(3):
    fn(x, y)
r0 = fn.replays
model.eval()
fn(x, y)
r1, why_eval = fn.replays, fn.reason
model.train()
with distml.no_grad():
    model[0].weight.copy_(distml.zeros(16, 784))
fn(x, y)
r2, why_copy = fn.replays, fn.reason
# arguments that share a texture are part of the signature
g = distml.compile(lambda a, b: a * 2 + b)
u, v = distml.randn(5).to("webgl"), distml.randn(5).to("webgl")
aliased = [g(u, u).tolist() for _ in range(3)]
apart = g(u, v).tolist()
alias = {"replays": g.replays, "ok": aliased[-1] == (u * 3).tolist()
         and apart == (u * 2 + v).tolist()}
{"reads": reads, "replays": [r0, r1, r2], "why": [why_eval, why_copy], "alias": alias,
 "cpu_passthrough": distml.compile(lambda a: a + 1)(distml.ones(2)).tolist()}
""", timeout=300)
    _same(out["reads"], replays=0)
    assert "reads values back" in out["reads"]["captured"]["reason"]
    assert out["replays"] == [1, 1, 1]
    assert "train()/eval()" in out["why"][0]
    assert "replaced" in out["why"][1]
    assert out["cpu_passthrough"] == [2.0, 2.0]
    assert out["alias"] == {"replays": 1, "ok": True}


def test_shared_temporaries_and_swapped_state_bit_for_bit(page):
    """A replay's temporaries reuse the textures of those whose last use has passed (as the
    eager pool does), the state is double-buffered (a replay swaps textures instead of
    copying last step's outputs onto its inputs) and constants are filled once: fewer
    textures, no copies and fewer fills, the same results as without any of them."""
    out = page.run(PRELUDE + """
from distml._graph.webgl import WebGLGraph

def run(fast):
    WebGLGraph.share_textures = WebGLGraph.swap_state = WebGLGraph.hoist_constants = fast
    try:
        distml.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                              BasicBlock(8, 8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                              nn.Linear(8, 10)).to("webgl")
        opt = distml.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        fn = distml.compile(step)
        losses = [fn(x, y).item() for x, y in batches(7, [(4, 3, 8, 8)])]
        g = fn._capture.graph
        return {"losses": losses, "replays": fn.replays, "textures": g.n_textures,
                "swapped": len(g.swap_pairs), "n_state": g.n_state,
                "constants": g.n_constants,
                "state": {k: v.tolist() for k, v in model.state_dict().items()}}
    finally:
        WebGLGraph.share_textures = WebGLGraph.swap_state = WebGLGraph.hoist_constants = True

{"fast": run(True), "plain": run(False)}
""", timeout=600)
    fast, plain = out["fast"], out["plain"]
    assert fast["replays"] >= 3 and plain["replays"] >= 3  # odd and even swaps
    assert fast["losses"] == plain["losses"] and fast["state"] == plain["state"]
    assert fast["textures"] < plain["textures"], (fast["textures"], plain["textures"])
    assert fast["swapped"] == fast["n_state"] > 0 and plain["swapped"] == 0
    assert fast["constants"] > 0 and plain["constants"] == 0


def test_a_changed_hyperparameter_records_again_a_scheduled_lr_does_not(page):
    # a replay checks the recorded objects of param_groups by identity (cheap) and falls
    # back to their values: a list changed in place, a new eps record again; a new lr
    # (recomputed by every replay) does not
    out = page.run(PRELUDE + """
distml.manual_seed(0)
model = MLP(784, [16], 10).to("webgl")
opt = distml.optim.Adam(model.parameters(), lr=1e-2)
opt.param_groups[0]["betas"] = [0.9, 0.999]  # a list, which can change in place
fn = distml.compile(step_of(model, opt))
x, y = batches(1, [(8, 784)])[0]
r, why = [], []
def call(n=1):
    for _ in range(n):
        fn(x, y)
    r.append(fn.replays)
    why.append(fn.reason)
call(5)
opt.param_groups[0]["betas"][0] = 0.5   # in place, inside a list
call()
call(4)
opt.param_groups[0]["eps"] = 1e-6
call()
call(4)
opt.param_groups[0]["lr"] = 5e-3
call()
opt.param_groups[0]["eps"] = float("1e-6")  # the same value, another object: replays
call()
{"r": r, "why": why}
""", timeout=300)
    r, why = out["r"], out["why"]
    assert r[0] > 0 and why[0] is None
    assert r[1] == r[0] and "param_groups changed" in why[1]
    assert r[2] > r[1]
    assert r[3] == r[2] and "param_groups changed" in why[3]
    assert r[4] > r[3]
    assert r[5] == r[4] + 1 and why[5] is None
    assert r[6] == r[5] + 1 and why[6] is None


def test_the_same_argument_objects_changed_between_calls_record_again(page):
    # a call that passes the very objects of the last one reuses its signature: a tensor
    # given new data of another shape or dtype, made to require grad, or another Python
    # number must still record again and compute on what it holds now
    out = page.run(PRELUDE + """
g = distml.compile(lambda a, s: a * s + 1)
x = distml.randn(6).to("webgl")
s = 2.0
log = []
def call():
    got = g(x, s).tolist()
    with distml.no_grad():
        want = (x * s + 1).tolist()
    log.append([g.replays, got == want])
for _ in range(3):
    call()                                   # records twice, replays once
x.data = distml.randn(3).to("webgl")         # the same object, another shape
call(); call(); call()
x.requires_grad_(True)
call(); call(); call()
s = 3.0
call(); call(); call()
x.requires_grad_(False)
x.data = distml.arange(4).to("webgl")        # another dtype
call(); call(); call()
log
""", timeout=300)
    assert all(ok for _, ok in out), out
    # each change records twice, then replays: one more replay per block of three
    assert [r for r, _ in out] == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5], out


def test_eager_draws_between_replays_and_a_changed_lr_reach_the_replay(page):
    """A replay sets only the uniforms whose value the program does not hold already, and
    re-sends an optimizer's uniforms only when they change: eager draws of the same
    programs with other values in between, and an lr set between replays (then set back),
    must still give what eager steps give."""
    out = page.run(PRELUDE + """
g = distml.compile(lambda a, b: a * 2 + b)
u, v = distml.randn(5).to("webgl"), distml.randn(5).to("webgl")
log = []
for k in range(6):
    got = g(u, v).tolist()
    with distml.no_grad():
        other = (u * (3 + k) + v).tolist()   # the same programs, another constant
        log.append(got == (u * 2 + v).tolist() and other != got)

def lrs(compiled):
    distml.manual_seed(0)
    model = MLP(784, [16], 10).to("webgl")
    opt = distml.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = step_of(model, opt)
    fn = distml.compile(step) if compiled else step
    first = opt.param_groups[0]["lr"]
    losses = []
    for k, (x, y) in enumerate(batches(12, [(8, 784)])):
        if k == 7:
            opt.param_groups[0]["lr"] = 0.2
        if k == 9:
            opt.param_groups[0]["lr"] = first   # the very object of before
        losses.append(fn(x, y).item())
    return losses, getattr(fn, "replays", 0)

(eager, _), (captured, replays) = lrs(False), lrs(True)
{"log": log, "replays": g.replays, "same": eager == captured, "lr_replays": replays}
""", timeout=300)
    assert out["log"] == [True] * 6 and out["replays"] >= 3, out
    assert out["same"] and out["lr_replays"] >= 6, out
