"""distml.compile on the CPU backends: a transparent wrapper that calls the function (the
captured replay is the webgl device's, tests/browser/test_browser_capture.py)."""
import pytest

import distml
import distml.nn.functional as F
from distml import nn


def _train(compiled):
    distml.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    opt = distml.optim.Adam(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = distml.compile(step) if compiled else step
    x, y = distml.randn(4, 6), distml.tensor([0, 1, 2, 1])
    losses = [fn(x, y).item() for _ in range(4)]
    return losses, [p.tolist() for p in model.parameters()]


def test_compile_is_transparent_on_cpu():
    assert _train(True) == _train(False)


def test_compile_forms():
    @distml.compile
    def f(a):
        return a * 2

    @distml.compile(disable=True)
    def g(a):
        return a + 1

    assert f(distml.ones(2)).tolist() == [2.0, 2.0]
    assert f.__name__ == "f" and f.__wrapped__(3) == 6
    assert g(1) == 2 and not hasattr(g, "__wrapped__")  # disable returns the function
    assert f.replays == 0 and f.reason is None
    with pytest.raises(TypeError, match="expects a callable"):
        distml.compile(3)


def test_a_signature_does_not_keep_its_arguments_alive():
    # a captured call's signature (computed on the webgl device for every new batch) must
    # let the batch go when the caller does, not when the garbage collector next runs
    import gc
    import weakref

    from distml._compile import _signature
    x = distml.randn(3)
    ref = weakref.ref(x)
    gc.disable()
    try:
        sig, tensors = _signature(([x, 1.0], {"k": (2, "a")}), {"y": 3})
        assert tensors == [x] and sig[-1] == (0,)
        del x, tensors
        assert ref() is None
    finally:
        gc.enable()
