"""The "webgl" device in real headless Chromium (WebGL2 through ANGLE on SwiftShader, in the
Pyodide Web Worker): the op conformance suite against torch, large tensors, texture
accounting, and failure modes (broken shader, lost context).

The tests share the session's page (fixture `browser_python`); the failure-mode tests reset
the backend afterwards (`backend.reset()`) so that the order of tests does not matter.
"""
import json
import math
import time

import pytest

from .harness import LOAD_CONFORMANCE, PagePythonError

SEED = 1234

# Conformance cases known to fail on webgl, with the reason. Keep this the ONE place that
# lists them; the test fails when a listed case starts passing (so the list stays honest).
EXPECTED_FAILURES = {
}

PRELUDE = (
    "import json, distml, distml.webgl\n"
    "from distml.backends import get_backend\n"
    "be = get_backend('webgl')\n")


@pytest.fixture(scope="module")
def webgl(browser_python):
    info = browser_python.run(PRELUDE + "{'available': distml.webgl.is_available(), "
                                        "'info': be.info}")
    assert info["available"], info
    return browser_python


def test_webgl_is_available_with_float_render(webgl):
    info = webgl.run(PRELUDE + "be.info")
    assert info["floatRender"] is True
    assert info["maxTextureSize"] >= 4096
    assert "SwiftShader" in info["renderer"] or info["renderer"]


# "small" as the page's cpu run; "full" holds the shapes the cases meant for numpy/webgl
@pytest.mark.parametrize("profile", ["small", "full"])
def test_conformance_suite_on_webgl(webgl, profile):
    from conformance.make_reference import make_reference

    reference = make_reference(profile, SEED)
    expected = sorted(cid for cid, entry in reference["cases"].items() if "result" in entry)
    webgl.run(LOAD_CONFORMANCE)
    t0 = time.monotonic()
    report = webgl.run(
        PRELUDE +
        "from conformance import runner\n"
        f"REFERENCE = json.loads({json.dumps(reference)!r})\n"
        "distml.set_default_device('webgl')\n"
        "try:\n"
        f"    report = runner.run_all(distml, {profile!r}, {SEED}, REFERENCE, device='webgl')\n"
        "finally:\n"
        "    distml.set_default_device(None)\n"
        "{'pass': report['pass'], 'fail': report['fail'], 'skip': report['skip'],\n"
        " 'stats': be.stats()}", timeout=600)
    seconds = time.monotonic() - t0
    failed = set(report["fail"])
    unexpected = sorted(failed - set(EXPECTED_FAILURES))
    fixed = sorted(set(EXPECTED_FAILURES) - failed)
    details = "\n".join(f"  {cid}: {'; '.join(report['fail'][cid])[:400]}" for cid in unexpected)
    print(f"\nwebgl conformance ({profile}): {len(report['pass'])} pass, {len(failed)} fail "
          f"({len(failed) - len(unexpected)} expected), {len(report['skip'])} skip in "
          f"{seconds:.1f} s; stats {report['stats']}")
    assert not unexpected, f"{len(unexpected)} case(s) differ from torch on webgl:\n{details}"
    assert not fixed, f"listed in EXPECTED_FAILURES but passing now: {fixed}"
    skipped = {cid: r for cid, r in report["skip"].items() if cid in expected}
    assert not skipped, f"cases with a torch reference were skipped: {skipped}"


def test_packed_matmul_and_conv_with_small_textures(webgl):
    """With MAX_TEXTURE_SIZE cut to 256, packed operands need several bands and K is split
    into passes: matmul and the three convs must still equal the pure-Python backend's."""
    out = webgl.run(
        PRELUDE +
        "import distml.nn.functional as F\n"
        "def both(fn, *shapes):\n"
        "    distml.manual_seed(3)\n"
        "    xs = [distml.randn(*s) for s in shapes]\n"
        "    want = fn(*[x.clone() for x in xs]).flatten().tolist()\n"
        "    got = fn(*[x.to('webgl') for x in xs]).flatten().tolist()\n"
        "    return max(abs(a - b) / (1 + abs(b)) for a, b in zip(got, want))\n"
        "def conv(x, w, y):\n"
        "    x.requires_grad_(); w.requires_grad_()\n"
        "    out = F.conv2d(x, w, stride=2, padding=3)\n"
        "    out.backward(y)\n"
        "    return distml.cat([out.flatten(), x.grad.flatten(), w.grad.flatten()])\n"
        "saved = be.max_size\n"
        "be.max_size = 256\n"
        "try:\n"
        "    err = {'split_k': both(lambda a, b: a @ b, (4, 5000), (5000, 3)),\n"
        "           'bands': both(lambda a, b: a @ b, (2000, 40), (40, 9)),\n"
        "           'batched': both(lambda a, b: a @ b, (3, 33, 50), (3, 50, 40)),\n"
        "           'conv': both(conv, (2, 3, 32, 32), (8, 3, 7, 7), (2, 8, 16, 16))}\n"
        "finally:\n"
        "    be.max_size = saved\n"
        "err")
    assert max(out.values()) < 1e-4, out


def test_tensor_larger_than_max_texture_size(webgl):
    out = webgl.run(
        PRELUDE +
        "n = be.max_size * 3 + 17\n"
        "from array import array\n"
        "vals = array('f', [((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(n)])\n"
        "t = distml.tensor(vals.tolist(), device='webgl')\n"
        "back = t.tolist()\n"
        "s = t.sum().item()\n"
        "want = sum(vals)\n"
        "{'n': n, 'roundtrip': back == vals.tolist(), 'sum': s, 'want': want,\n"
        " 'max': t.max().item(), 'size': be.max_size}")
    assert out["n"] > out["size"]
    assert out["roundtrip"] is True
    assert out["sum"] == pytest.approx(out["want"], rel=1e-5, abs=1e-2)
    assert out["max"] == pytest.approx(0.499)


def test_textures_return_to_baseline(webgl):
    out = webgl.run(
        PRELUDE +
        "import gc\n"
        "import distml.nn.functional as F\n"
        "def steps():  # local names: globals left by other tests in this page stay put\n"
        "    for step in range(20):\n"
        "        a = distml.randn(16, 8, device='webgl', requires_grad=True)\n"
        "        w = distml.randn(8, 4, device='webgl', requires_grad=True)\n"
        "        loss = F.cross_entropy((a @ w).relu(), distml.zeros(16, dtype=distml.int64,\n"
        "                                                              device='webgl'))\n"
        "        loss.backward()\n"
        "gc.collect()\n"
        "base = be.stats()\n"
        "steps()\n"
        "gc.collect()\n"
        "after = be.stats()\n"
        "distml.webgl.empty_cache()\n"
        "emptied = distml.webgl.stats()\n"
        "{'base': base, 'after': after, 'emptied': emptied}")
    base, after = out["base"], out["after"]
    assert after["live_textures"] == base["live_textures"], out
    assert after["live_bytes"] == base["live_bytes"], out
    assert after["draws"] > base["draws"]
    # textures are reused from the pool: few are created for 20 identical steps
    assert after["textures_created"] - base["textures_created"] < 100, out
    assert after["js"]["liveTextures"] == after["live_textures"] + after["pooled_textures"]
    emptied = out["emptied"]
    assert emptied["pooled_textures"] == 0 and emptied["pooled_bytes"] == 0
    assert emptied["js"]["liveTextures"] == emptied["live_textures"]
    assert emptied["js"]["bytes"] == emptied["live_bytes"]


def test_rng_matches_the_cpu_backend(webgl):
    out = webgl.run(
        PRELUDE +
        "from distml.backends.python import backend as cpu\n"
        "res = {}\n"
        "for kind in ('uniform', 'normal'):\n"
        "    for seed, off in ((0, 0), (1234, 77), (2**40 + 5, 2**32 - 10)):\n"
        "        g = be.to_list(be.random((100, 200), kind, seed, off))\n"
        "        c = cpu.to_list(cpu.random((100, 200), kind, seed, off))\n"
        "        res[f'{kind}-{seed}-{off}'] = max(abs(a - b) for a, b in zip(g, c))\n"
        "distml.manual_seed(7)\n"
        "a = distml.randn(5, 5, device='webgl').tolist()\n"
        "distml.manual_seed(7)\n"
        "b = distml.randn(5, 5).tolist()\n"
        "res['tensor'] = max(abs(x - y) for r, s in zip(a, b) for x, y in zip(r, s))\n"
        "res")
    for key, diff in out.items():
        if key.startswith("uniform"):
            assert diff == 0.0, (key, diff)  # 24 random bits: exact
        else:
            assert diff <= 1e-6, (key, diff)  # float32 log/cos vs double, rounded


def test_broken_shader_raises_with_the_log(webgl):
    try:
        with pytest.raises(PagePythonError) as info:
            webgl.run(PRELUDE + "be.compile_kernel('broken_kernel', '#version 300 es\\n"
                      "precision highp float; out vec4 o; void main() { o = vec4(nope); }')")
        text = str(info.value)
        assert "WebGLError" in text and "broken_kernel" in text
        assert "nope" in text  # the GLSL compiler's log
        # the device refuses further work
        with pytest.raises(PagePythonError, match="unusable"):
            webgl.run(PRELUDE + "distml.ones(3, device='webgl').sum().item()")
    finally:
        webgl.run(PRELUDE + "be.reset()")
    assert webgl.run(PRELUDE + "distml.ones(3, device='webgl').sum().item()") == 3


def test_context_loss_makes_the_next_op_raise(webgl):
    try:
        webgl.run(PRELUDE + "x = distml.ones(4, device='webgl')\nbe._gl.loseContext()")
        with pytest.raises(PagePythonError) as info:
            webgl.run(PRELUDE + "(x * 2).tolist()")
        assert "WebGLError" in str(info.value) and "lost" in str(info.value)
        with pytest.raises(PagePythonError, match="unusable"):
            webgl.run(PRELUDE + "distml.zeros(2, device='webgl') + 1")
    finally:
        webgl.run(PRELUDE + "x = None\nbe.reset()")
    assert webgl.run(PRELUDE + "(distml.ones(4, device='webgl') * 2).tolist()") == [2, 2, 2, 2]


TRAIN = """
import time
import distml, distml.nn as nn, distml.nn.functional as F
from distml.models import MnistCNN


def train(device, make_model, x_shape, classes, steps):
    distml.manual_seed(0)
    model = make_model().to(device)
    opt = distml.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = distml.randn(*x_shape).to(device)
    y = distml.randint(0, classes, (x_shape[0],)).to(device)
    losses = []
    t0 = time.perf_counter()
    for step in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - t0
    first = next(iter(model.parameters())).detach().cpu().reshape(-1).tolist()[:20]
    return {'losses': losses, 'seconds': seconds, 'param': first}


mlp = lambda: nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
cnn = lambda: MnistCNN(width=4, hidden=16)
result = {}
for name, make, shape, classes, steps in (('mlp', mlp, (64, 8), 2, 30),
                                          ('cnn', cnn, (4, 1, 28, 28), 10, 3)):
    result[name] = {dev: train(dev, make, shape, classes, steps) for dev in ('webgl', 'cpu')}
result
"""


def test_training_on_webgl_follows_cpu(webgl):
    # the same seed gives the same model, data and dropout masks on both devices, so the
    # webgl run follows the page's pure-Python run up to float32 rounding
    out = webgl.run(TRAIN, timeout=300)
    for name, runs in out.items():
        gl, cpu = runs["webgl"], runs["cpu"]
        assert gl["losses"] == pytest.approx(cpu["losses"], rel=1e-4, abs=1e-5), name
        assert gl["param"] == pytest.approx(cpu["param"], rel=1e-4, abs=1e-5), name
        print(f"\n{name}: {len(gl['losses'])} steps webgl {gl['seconds']:.2f} s, "
              f"cpu (pure Python) {cpu['seconds']:.2f} s; loss {gl['losses'][0]:.4f} -> "
              f"{gl['losses'][-1]:.4f}")
    for name in ("mlp", "cnn"):  # random labels: the loss only has to go down
        assert out[name]["webgl"]["losses"][-1] < out[name]["webgl"]["losses"][0]


def test_int64_edge_values(webgl):
    out = webgl.run(
        PRELUDE +
        "x = distml.tensor([float('nan'), float('inf'), -2.7, 2.7, 1e20], device='webgl')\n"
        "i = distml.tensor([16777216, -16777216, 7, -7], device='webgl')\n"
        "imin = -(1 << 63)  # (compared here: JSON numbers in JS lose int64 precision)\n"
        "[[v if v != imin else 'min' for v in x.long().tolist()],\n"
        " (i // 2).tolist(), (i % 3).tolist(), (i * 1).tolist()]")
    assert out[0] == ["min", "min", -2, 2, "min"]
    assert out[1] == [8388608, -8388608, 3, -4]
    assert out[2] == [16777216 % 3, -16777216 % 3, 1, 2]
    assert out[3] == [16777216, -16777216, 7, -7]


def test_primitives_on_views_match_the_python_backend(webgl):
    from pathlib import Path

    code = (Path(__file__).parent / "webgl_views.py").read_text()
    out = webgl.run(code, timeout=300)
    assert out["checks"] > 300
    assert out["problems"] == []


SGD_CASES = """
def sgd_cases():
    import itertools
    from distml.backends import get_backend
    gl, py = get_backend("webgl"), get_backend("python")
    distml.manual_seed(7)
    p, g, buf = (distml.randn(3, 5).tolist() for _ in range(3))
    flat = lambda rows: [v for r in rows for v in r]
    out = []
    for momentum, dampening, wd, nesterov, maximize, first in itertools.product(
            (0.0, 0.9), (0.0, 0.25), (0.0, 0.01), (False, True), (False, True), (False, True)):
        if nesterov and (not momentum or dampening):
            continue
        args = (0.05, momentum, dampening, wd, nesterov, maximize)
        results = []
        for be in (gl, py):
            bufs = [be.from_list(flat(v), (3, 5), "float32") for v in (p, g, buf)]
            new_p, new_buf = be.sgd_update(bufs[0], bufs[1], None if first else bufs[2], *args)
            results.append((be.to_list(new_p), None if new_buf is None else be.to_list(new_buf)))
        out.append([list(args) + [first], results[0], results[1]])
    return out
sgd_cases()
"""


def test_fused_sgd_on_webgl_matches_the_composed_default(webgl):
    # the webgl override (one draw, constants as uniforms) against the pure-Python
    # backend's composed ops, over every flag combination torch allows
    cases = webgl.run(PRELUDE + SGD_CASES)
    assert len(cases) == 40
    for args, (gl_p, gl_buf), (py_p, py_buf) in cases:
        assert gl_p == pytest.approx(py_p, rel=1e-6, abs=1e-6), args
        assert (gl_buf is None) == (py_buf is None), args
        if gl_buf is not None:
            assert gl_buf == pytest.approx(py_buf, rel=1e-6, abs=1e-6), args


ADAM_CASES = """
def adam_cases():
    import itertools
    from distml.backends import get_backend
    gl, py = get_backend("webgl"), get_backend("python")
    distml.manual_seed(8)
    p, g, m = (distml.randn(3, 5).tolist() for _ in range(3))
    v, vmax = ((distml.rand(3, 5) * 0.1).tolist() for _ in range(2))
    flat = lambda rows: [x for r in rows for x in r]
    out = []
    for wd, decoupled, amsgrad, maximize, step in itertools.product(
            (0.0, 0.01), (False, True), (False, True), (False, True), (1.0, 5.0)):
        results = []
        for be in (gl, py):
            bufs = [be.from_list(flat(x), (3, 5), "float32") for x in (p, g, m, v, vmax)]
            before = gl.counters["draws"]
            new = be.adam_update(bufs[0], bufs[1], bufs[2], bufs[3],
                                 bufs[4] if amsgrad else None, 1e-2, 0.9, 0.999, 1e-8, wd,
                                 decoupled, amsgrad, maximize, step)
            if be is gl:
                draws = gl.counters["draws"] - before
            results.append([None if b is None else be.to_list(b) for b in new])
        out.append([[wd, decoupled, amsgrad, maximize, step], results[0], results[1], draws])
    return out
adam_cases()
"""


def test_fused_adam_on_webgl_matches_the_composed_default(webgl):
    cases = webgl.run(PRELUDE + ADAM_CASES)
    assert len(cases) == 32
    for args, gl, py, draws in cases:
        assert draws == 1, args  # the whole update (amsgrad's maximum too) is one draw
        for a, b in zip(gl, py):
            assert (a is None) == (b is None), args
            if a is not None:
                assert a == pytest.approx(b, rel=1e-5, abs=1e-6), args


def test_python_numbers_and_full_are_uniforms_until_a_kernel_needs_a_texture(webgl):
    """A Python number in x + 1 (and full()) is a constant: an elementwise op reads it as a
    uniform (no texture, no fill call); other kernels, read backs and values a uniform
    cannot carry exactly (inf, nan, an int64 past 2**24 not exact in float32) get a filled
    texture."""
    out = webgl.run(PRELUDE + """
import math
from distml import nn
def cost(fn):
    s0 = distml.webgl.stats()
    r = fn()
    s1 = distml.webgl.stats()
    return r, s1["ffi_calls"] - s0["ffi_calls"], s1["textures_created"] - s0["textures_created"]
x = distml.tensor([1.5, -2.0, 0.0, 3.0]).to("webgl")
for _ in range(3):
    x + 1
_, ffi, made = cost(lambda: x + 1)
c = distml.full((4,), 2.5, device="webgl")
ints = distml.tensor([1, 2]).to("webgl")
vals = {
  "add": (x + 1).tolist(), "rsub": (1 - x).tolist(), "mul_neg0": (x * -0.0).tolist(),
  "gt": (x > 0).tolist(), "where": distml.where(x > 0, x, 0.5).tolist(),
  "full": c.tolist(), "full_mul": (x * c).tolist(), "full_matmul": (c @ x).item(),
  "inf": [str(t) for t in (x * math.inf).tolist()],
  "nan": [str(t) for t in (x + math.nan).tolist()],
  "big_int": [(ints + (2 ** 40 + 1)).tolist(),
              (ints + distml.tensor(2 ** 40 + 1).to("webgl")).tolist()],
  "bool": (distml.tensor([True, False]).to("webgl") & True).tolist(),
}
# BatchNorm's num_batches_tracked starts as a constant 0, then replays update it
distml.manual_seed(0)
bn = nn.BatchNorm1d(3).to("webgl")
step = distml.compile(lambda v: bn(v).sum())
v = distml.randn(5, 3).to("webgl")
for _ in range(6):
    step(v)
tracked = [int(bn.num_batches_tracked.item()), int((bn.num_batches_tracked + 0).item()),
           step.replays]
{"ffi": ffi, "made": made, "vals": vals, "tracked": tracked}
""")
    assert out["ffi"] == 1 and out["made"] == 0, out  # one draw call, no fill, no texture
    v = out["vals"]
    assert v["add"] == [2.5, -1.0, 1.0, 4.0] and v["rsub"] == [-0.5, 3.0, 1.0, -2.0]
    assert [math.copysign(1, t) for t in v["mul_neg0"]] == [-1, 1, -1, -1]
    assert v["gt"] == [True, False, False, True] and v["where"] == [1.5, 0.5, 0.5, 3.0]
    assert v["full"] == [2.5] * 4 and v["full_mul"] == [3.75, -5.0, 0.0, 7.5]
    assert v["full_matmul"] == 6.25
    assert v["inf"] == ["inf", "-inf", "nan", "inf"] and v["nan"] == ["nan"] * 4
    assert v["big_int"][0] == v["big_int"][1]  # as an uploaded tensor gives it
    assert v["bool"] == [True, False]
    assert out["tracked"][:2] == [6, 6] and out["tracked"][2] >= 2, out["tracked"]
