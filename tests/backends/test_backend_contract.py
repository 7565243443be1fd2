"""The backend contract: Backend is an ABC of the primitives, capabilities are declared,
devices come from the registry (tests/minimal_backend.py is the proof backend)."""
import minimal_backend
import pytest

import distml
from distml import backends
from distml.backends.base import COMPOSED_OPS, Backend


def test_a_backend_missing_a_primitive_cannot_be_made():
    class Partial(Backend):
        def shape(self, buf):
            return ()
    with pytest.raises(TypeError, match="abstract"):
        Partial()
    assert "matmul" in Partial.__abstractmethods__


def test_overrides_are_declared_per_backend():
    assert minimal_backend.MinimalBackend.overrides == frozenset()
    numpy_overrides = backends.get_backend("numpy").overrides
    assert {"conv2d", "max_pool2d", "sgd_update", "adam_update"} <= numpy_overrides
    assert "avg_pool2d" not in numpy_overrides  # the composed default measured faster
    assert numpy_overrides <= set(COMPOSED_OPS)


def test_capabilities():
    numpy_be, python_be = backends.get_backend("numpy"), backends.get_backend("python")
    assert numpy_be.host_resident and numpy_be.host_arrays
    assert python_be.host_resident and not python_be.host_arrays


def test_registry_rejects_cpu_and_unknown_cpu_backends():
    with pytest.raises(ValueError, match="invalid backend name 'cpu'"):
        backends.register("cpu", lambda: minimal_backend.backend)
    with pytest.raises(ValueError, match="unknown cpu backend 'nope'"):
        distml.set_cpu_backend("nope")


def test_a_registered_cpu_variant_serves_the_cpu_device():
    minimal_backend.install()
    try:
        distml.set_cpu_backend("minimal")
        x = distml.arange(6.0).reshape(1, 1, 2, 3).requires_grad_()
        y = distml.nn.functional.max_pool2d(x, 2, stride=1)
        y.sum().backward()
        assert y.tolist() == [[[[4.0, 5.0]]]]
        assert x.grad.tolist() == [[[[0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]]]
        assert distml.tensor([1.5]).numpy().tolist() == [1.5]  # to_numpy via bytes
    finally:
        distml.set_cpu_backend("numpy")
        minimal_backend.uninstall()
    assert "minimal" not in backends.cpu_backends()


def test_composed_cat_matches_torch_with_promotion_and_empty_pieces():
    import torch
    be = minimal_backend.MinimalBackend()
    pieces = [([[1.0, 2.0]], "float32"), ([[3, 4], [5, 6]], "int64"), ([], "bool"),
              ([[True, False]], "bool")]
    bufs, refs = [], []
    for values, dtype in pieces:
        t = torch.tensor(values, dtype=getattr(torch, dtype)).reshape(-1, 2)
        refs.append(t)
        bufs.append(be.from_list(t.flatten().tolist(), tuple(t.shape), dtype))
    out = be.cat(bufs, 0)
    expect = torch.cat(refs, 0)
    assert be.dtype(out) == "float32" and be.shape(out) == tuple(expect.shape)
    assert be.to_list(out) == expect.flatten().tolist()
    one = be.cat([bufs[2], bufs[1]], 0)  # only one piece has elements: cast, no copy loop
    assert be.dtype(one) == "int64" and be.to_list(one) == [3, 4, 5, 6]
    cols = be.cat([bufs[1], bufs[1]], 1)
    assert be.to_list(cols) == torch.cat([refs[1], refs[1]], 1).flatten().tolist()


def test_to_moves_a_tensor_to_the_backend_now_serving_its_device():
    x = distml.tensor([1.5, -2.0], requires_grad=True)  # numpy serves "cpu"
    model = distml.nn.Linear(2, 1)
    state = model.state_dict()
    distml.set_cpu_backend("python")
    try:
        y = x.to("cpu")
        assert type(y._backend).__name__ == "PythonBackend"
        assert y.tolist() == [1.5, -2.0]
        (y * y).sum().backward()  # the gradient goes back to x's backend
        assert x.grad.tolist() == [3.0, -4.0]
        fresh = distml.nn.Linear(2, 1)
        fresh.load_state_dict(state)  # numpy-held values loaded into python-held params
        assert fresh.weight.tolist() == state["weight"].tolist()
        assert type(fresh.weight._backend).__name__ == "PythonBackend"
    finally:
        distml.set_cpu_backend("numpy")
