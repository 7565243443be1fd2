"""F.cross_entropy on the webgl device as three fused draws (webgl/cross_entropy.py): loss
and logits gradient against torch (float64) within float32 error and against the unfused
path (log_softmax + NLL), with ignore_index, 'sum', unbatched input and odd shapes."""
import pytest
import torch

CODE = """
import distml
import distml.nn.functional as F
from distml.backends import get_backend
be = get_backend('webgl')

def ce(x, t, **kw):
    x = x.to('webgl').requires_grad_()
    d0 = distml.webgl.stats()['draws']
    loss = F.cross_entropy(x, t.to('webgl'), **kw)
    d1 = distml.webgl.stats()['draws']
    loss.backward()
    return [loss.item(), x.grad.flatten().tolist(), d1 - d0]

def case(n, c, seed, **kw):
    distml.manual_seed(seed)
    x = distml.randn(n, c) * 3 if n else distml.randn(c) * 3
    t = distml.randint(0, c, (n,) if n else ())
    if n > 2 and 'ignore_index' in kw:
        t[1] = kw['ignore_index']
    fused = ce(x, t, **kw)
    be.cross_entropy_fits = lambda logits: False  # the composed path, on the same device
    try:
        plain = ce(x, t, **kw)
    finally:
        del be.cross_entropy_fits
    return {'x': x.tolist(), 't': t.tolist(), 'fused': fused, 'plain': plain}

{name: case(*args, **kw) for name, (args, kw) in CASES.items()}
"""

CASES = {"mlp": ((64, 10, 1), {}), "odd": ((7, 3, 2), {}),
         "sum": ((9, 5, 3), {"reduction": "sum"}),
         "ignore": ((12, 10, 4), {"ignore_index": 3}),
         "ignore_default": ((6, 4, 5), {"ignore_index": -100}),
         "unbatched": ((0, 6, 6), {})}


@pytest.fixture(scope="module")
def results(browser_python):
    return browser_python.run(f"CASES = {CASES!r}\n" + CODE)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_cross_entropy_matches_torch_and_the_unfused_path(results, name):
    r = results[name]
    kw = CASES[name][1]
    x = torch.tensor(r["x"], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(r["t"], dtype=torch.int64)
    want = torch.nn.functional.cross_entropy(x, t, **kw)
    want.backward()
    loss, grad, draws = r["fused"]
    plain_loss, plain_grad, plain_draws = r["plain"]
    assert draws == 2 and plain_draws > 10
    # float32: a few roundings of values of size |x| + log C
    tol = 1e-6 * (1 + x.abs().max().item())
    assert abs(loss - want.item()) <= tol * (1 + abs(want.item()))
    assert abs(loss - plain_loss) <= 2 * tol * (1 + abs(want.item()))
    g = torch.tensor(grad, dtype=torch.float64)
    assert torch.allclose(g, x.grad.flatten(), rtol=1e-5, atol=1e-7)
    assert torch.allclose(g, torch.tensor(plain_grad, dtype=torch.float64), rtol=1e-5,
                          atol=1e-7)
