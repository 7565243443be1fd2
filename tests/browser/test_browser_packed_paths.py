"""The webgl backend's cheaper packed-matmul paths (issue 14), in headless Chromium: a pack
that reads whole texels (ALIGNED; TALIGNED for a transposed matrix), operands read in place
without a pack (ADIRECT, BDIRECT, BNAT), an unpack that writes whole texels (WHOLE,
TEXEL), the packed product for small matmuls, and a Linear's weight gradient computed in
its own (contiguous) layout. Each must equal the general path bit for bit and torch within
float32 error."""
import pytest

PRELUDE = """
import distml
import distml.nn.functional as F
from distml.backends import get_backend
be = get_backend('webgl')

def kernels():
    return {k[0] + ''.join(f' {a}' for a, _ in k[1:]) for k in be._programs}
"""


@pytest.fixture(scope="module")
def page(browser_python):
    browser_python.run(PRELUDE)
    return browser_python


def test_aligned_pack_and_whole_unpack_match_the_general_path_bit_for_bit(page):
    out = page.run("""
distml.manual_seed(5)
a = distml.randn(64, 784)
b = distml.randn(784, 32)
cases = {'aligned': (a, b), 'offset': (a[:, 4:], b[4:]), 'odd_k': (a[:, 1:], b[1:]),
         'n_not_4': (a, b[:, :10]), 'transposed': (b.t(), a.t()),
         'transposed_offset': (a[:, 1:].t(), a[:, :31]), 'gram': (a.t(), a),
         'transposed_k_30': (a[:30].t(), a[:30, :5]),
         'bt_on_device': (a, a[:32]), 'bt_on_device_odd': (a[:, 1:], a[:12, 1:])}
res = {}
for name, (x, y) in cases.items():
    xg, yg = x.to('webgl'), y.to('webgl')
    if name.startswith('bt_on_device'):  # a transposed view on the device (uploads copy)
        y, yg = y.t(), yg.t()
    fast = (xg @ yg).flatten().tolist()
    be.packed_fast_paths = False
    be.mrt_rows = 4  # and 4 rows of C per fragment (RB8 is the default from 32 rows)
    try:
        slow = (xg @ yg).flatten().tolist()
    finally:
        be.packed_fast_paths = True
        be.mrt_rows = 8
    want = (x.double() @ y.double()).flatten().tolist()
    err = max(abs(p - q) / (1 + abs(q)) for p, q in zip(fast, want))
    res[name] = [fast == slow, err]
res['kernels'] = sorted(k for k in kernels() if 'ALIGNED' in k or 'WHOLE' in k
                       or 'DIRECT' in k or 'NAT' in k or 'RB8' in k)
res['rb8'] = be.info.get('maxDrawBuffers', 4) >= 8
res
""")
    kernels = out.pop("kernels")
    # operands read in place, without a pack draw: A and B^T rows, and B row-major; 8 rows
    # of C per fragment where the context has 8 render targets (SwiftShader has)
    for flag in ("ADIRECT", "BDIRECT", "BNAT") + (("RB8",) if out.pop("rb8") else ()):
        assert any(k.startswith("matmul_packed") and flag in k for k in kernels), kernels
    assert any("pack" in k and "ALIGNED" in k for k in kernels), kernels
    assert any("unpack" in k and "WHOLE" in k for k in kernels), kernels
    assert any("pack" in k and "TALIGNED" in k for k in kernels), kernels
    for name, (same, err) in out.items():
        assert same, f"{name}: the fast paths changed the result"
        assert err < 1e-4, (name, err)  # 784 float32 products summed: ~1e-5 relative


def test_small_matmul_runs_packed_and_matches_torch(page):
    import torch
    out = page.run("""
distml.manual_seed(6)
a, b = distml.randn(64, 32), distml.randn(32, 10)
before = set(be._programs)
got = (a.to('webgl') @ b.to('webgl')).tolist()
used = sorted(k[0] for k in set(be._programs) - before)
{'a': a.tolist(), 'b': b.tolist(), 'got': got, 'new_kernels': used}
""")
    want = torch.tensor(out["a"], dtype=torch.float64) @ torch.tensor(out["b"], dtype=torch.float64)
    got = torch.tensor(out["got"], dtype=torch.float64)
    # 32 float32 products summed: each term rounded once, |error| <= 32 * 2^-24 * sum |a b|
    bound = 32 * 2.0 ** -24 * (torch.tensor(out["a"]).abs() @ torch.tensor(out["b"]).abs())
    assert ((got - want).abs() <= bound.double() + 1e-12).all()


def test_small_matmuls_run_in_one_draw_with_texel_reads_and_match_torch(page):
    """An MLP's small products (h @ W^T: 64x32 @ 32x10, g @ W: 64x10 @ 10x32, g^T @ h:
    10x64 @ 64x32) run as one draw that reads whole texels where the layout allows (BN4:
    4 columns of B per texel, AK4: 4 k of A too, K4: dot products along k), batched too;
    the values match torch within float32 error."""
    import torch
    out = page.run("""
distml.manual_seed(11)
h, w2, g = distml.randn(64, 32), distml.randn(10, 32), distml.randn(64, 10)
x3, y3, w3 = distml.randn(3, 8, 16), distml.randn(3, 16, 12), distml.randn(32, 16)
cases = {'k4': (h, w2, lambda a, b: a @ b.t()), 'bn4': (g, w2, lambda a, b: a @ b),
         'bn4_scalar_a': (g, h, lambda a, b: a.t() @ b),
         'bn4_ak4': (h[:16], w3, lambda a, b: a @ b),
         'batched_bn4_ak4': (x3, y3, lambda a, b: a @ b),
         'generic': (g, w2, lambda a, b: a[:, 1:] @ b[1:, :9])}
res = {}
used = []
def spy(family, defines, out, inputs, uniforms):
    used.append([family] + sorted(defines))
    return draw(family, defines, out, inputs, uniforms)
draw = be._draw
for name, (a, b, op) in cases.items():
    ag, bg = a.to('webgl'), b.to('webgl')
    used.clear()
    be._draw = spy
    try:
        got = op(ag, bg)
    finally:
        del be._draw
    res[name] = {'want': op(a.double(), b.double()).tolist(), 'got': got.tolist(),
                 'a': op(a.abs().double(), b.abs().double()).tolist(), 'k': a.shape[-1],
                 'draws': list(used)}
res
""")
    flags = {"k4": ["K4"], "bn4": ["BN4"], "bn4_scalar_a": ["BN4"],
             "bn4_ak4": ["AK4", "BN4"], "batched_bn4_ak4": ["AK4", "BN4"], "generic": []}
    for name, r in out.items():
        want = torch.tensor(r["want"], dtype=torch.float64)
        got = torch.tensor(r["got"], dtype=torch.float64)
        k = r["k"] if name != "bn4_scalar_a" else 64
        bound = k * 2.0 ** -24 * torch.tensor(r["a"], dtype=torch.float64)  # k products summed
        assert ((got - want).abs() <= bound + 1e-12).all(), name
        assert r["draws"] == [["matmul"] + flags[name]], (name, r["draws"])


def test_linear_weight_gradient_is_contiguous_and_unchanged(page):
    """(g^T x)^T instead of x^T g: the same products summed in the same order."""
    out = page.run("""
def grads():
    distml.manual_seed(7)
    x = distml.randn(64, 784, device='webgl')
    w = distml.randn(32, 784, device='webgl', requires_grad=True)
    g = distml.randn(64, 32, device='webgl')
    F.linear(x, w).backward(g)
    return w.grad, x, g
gw, x, g = grads()
be.grad_in_operand_layout = False
try:
    gw_old, _, _ = grads()
finally:
    del be.grad_in_operand_layout
want = (g.cpu().double().t() @ x.cpu().double())
err = ((gw.cpu().double() - want).abs() / (1 + want.abs())).max().item()
{'strides': list(gw._buf.strides), 'old_strides': list(gw_old._buf.strides),
 'same': gw.flatten().tolist() == gw_old.flatten().tolist(), 'err': err}
""")
    assert out["strides"] == [784, 1] and out["old_strides"] == [1, 32], out
    assert out["same"], out
    assert out["err"] < 1e-4, out


def test_conv_output_and_weight_gradient_texel_paths_match_torch(page):
    """A conv whose output planes hold a multiple of 4 pixels (and >= 16 channels) computes
    out^T and unpacks whole texels (TEXEL); a weight gradient with C * KH * KW % 4 == 0 is
    copied whole (WHOLE). Both equal the general path bit for bit; shapes cover the aligned
    and the unaligned cases (7x7 outputs, 27 columns, 8 channels)."""
    import torch
    out = page.run("""
cases = {'aligned': ((2, 4, 8, 8), (16, 4, 3, 3), 1, 1),
         'strided': ((2, 8, 9, 9), (24, 8, 3, 3), 2, 1),
         'odd_plane': ((2, 4, 7, 7), (16, 4, 3, 3), 1, 1),
         'few_out': ((2, 3, 8, 8), (8, 3, 3, 3), 1, 1),
         'odd_cols': ((2, 3, 8, 8), (16, 3, 3, 3), 1, 0)}
res = {}
for name, (xs, ws, stride, pad) in cases.items():
    distml.manual_seed(9)
    x, w = distml.randn(*xs), distml.randn(*ws)
    def run():
        xg = x.to('webgl')
        wg = w.to('webgl').requires_grad_()
        y = F.conv2d(xg, wg, stride=stride, padding=pad)
        y.backward(y * 0.5 + 1)
        return y.flatten().tolist(), wg.grad.flatten().tolist()
    fast = run()
    be.packed_fast_paths = False
    try:
        slow = run()
    finally:
        be.packed_fast_paths = True
    res[name] = {'same': fast == slow, 'y': fast[0], 'gw': fast[1], 'x': x.tolist(),
                 'w': w.tolist(), 'stride': stride, 'pad': pad}
res['kernels'] = sorted(k for k in kernels() if 'TEXEL' in k or 'WHOLE' in k)
res
""")
    kernels = out.pop("kernels")
    assert any("unpack" in k and "TEXEL" in k for k in kernels), kernels
    for name, r in out.items():
        assert r["same"], f"{name}: the texel paths changed the result"
        x = torch.tensor(r["x"], dtype=torch.float64)
        w = torch.tensor(r["w"], dtype=torch.float64, requires_grad=True)
        y = torch.nn.functional.conv2d(x, w, stride=r["stride"], padding=r["pad"])
        y.backward(y.detach() * 0.5 + 1)
        # float32 sums of at most a few hundred products: ~1e-5 relative
        for got, want in ((r["y"], y.detach()), (r["gw"], w.grad)):
            got = torch.tensor(got, dtype=torch.float64)
            err = ((got - want.flatten()).abs() / (1 + want.flatten().abs())).max().item()
            assert err < 1e-4, (name, err)
