"""The Tensor API of issue 10 beyond what the conformance cases check: legacy
constructors, factories with size=, tensors from sequences, __format__, multinomial,
index_put gradients, argument errors as torch raises them, float64 on the CPU backends,
sparse tensors refused. Run on both CPU backends."""
import math
from collections import deque

import numpy as np
import pytest

import distml
import distml.nn.functional as F

torch = pytest.importorskip("torch")


@pytest.fixture(params=["numpy", "python"], autouse=True)
def backend(request):
    distml.set_cpu_backend(request.param)
    yield request.param
    distml.set_cpu_backend("numpy")


def raises_like_torch(distml_call, torch_call):
    """Both calls raise the same exception type; returns distml's message."""
    with pytest.raises(Exception) as want:
        torch_call()
    with pytest.raises(want.type) as got:
        distml_call()
    return str(got.value)


# -- construction ------------------------------------------------------------------------

def test_legacy_constructors():
    t = distml.Tensor(3, 4)
    assert tuple(t.shape) == (3, 4) and t.dtype is distml.float32
    assert distml.Tensor(distml.Size([2, 5])).shape == (2, 5)
    assert distml.Tensor().shape == (0,)
    assert distml.Tensor([1, 2]).dtype is distml.float32  # torch.Tensor(data): float32
    assert distml.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert distml.tensor([1, 2]).dtype is distml.int64  # torch.tensor infers
    assert distml.FloatTensor([1, 2]).dtype is distml.float32
    assert distml.LongTensor([1.7, 2]).tolist() == torch.LongTensor([1.7, 2]).tolist()
    assert distml.LongTensor(2, 3).shape == (2, 3)
    assert distml.BoolTensor([1, 0]).tolist() == [True, False]
    assert distml.DoubleTensor([0.1]).dtype is distml.float64
    assert isinstance(distml.ones(2), distml.FloatTensor)
    assert not isinstance(distml.ones(2), distml.LongTensor)
    assert isinstance(distml.ones(2, dtype=distml.long), distml.LongTensor)
    assert isinstance(distml.Tensor(2), distml.Tensor)
    assert distml.ones(2).type(distml.LongTensor).dtype is distml.int64
    assert distml.ones(2).type("torch.DoubleTensor").dtype is distml.float64
    raises_like_torch(lambda: distml.Tensor(-1, 2), lambda: torch.Tensor(-1, 2))


def test_factories_with_size_keyword():
    for name in ("zeros", "ones", "empty", "rand", "randn"):
        fn = getattr(distml, name)
        assert fn(size=(2, 3)).shape == (2, 3), name
        assert fn(size=[4]).shape == (4,), name
    assert distml.zeros(size=(2,), dtype=distml.long).dtype is distml.int64
    assert distml.full(size=(2, 2), fill_value=3.0).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(TypeError):
        distml.zeros(2, size=(2,))


def test_tensor_from_any_sequence_but_not_generators():
    assert distml.tensor(deque([1, 2, 3])).tolist() == [1, 2, 3]
    assert distml.tensor(range(4)).tolist() == torch.tensor(range(4)).tolist()
    assert distml.tensor([deque([1.5]), (2.5,)]).tolist() == [[1.5], [2.5]]
    assert distml.tensor(np.float64(2.5)).item() == 2.5
    msg = raises_like_torch(lambda: distml.tensor(x for x in [1]),
                            lambda: torch.tensor(x for x in [1]))
    assert "generator" in msg
    raises_like_torch(lambda: distml.tensor({1, 2}), lambda: torch.tensor({1, 2}))


def test_randint_forms():
    distml.manual_seed(0)
    a = distml.randint(5, (2, 3))
    assert a.shape == (2, 3) and a.dtype is distml.int64 and 0 <= a.min() and a.max() < 5
    b = distml.randint(2, 4, size=(100,), dtype=distml.float32)
    assert b.dtype is distml.float32 and set(b.tolist()) <= {2.0, 3.0}
    assert distml.randint(3, (1, 1), dtype=distml.long).shape == (1, 1)


def test_new_factories_follow_the_tensor():
    x = distml.ones(2, dtype=distml.long)
    assert x.new_zeros(3).dtype is distml.int64 and x.new_zeros((2, 2)).shape == (2, 2)
    assert x.new_ones(2, dtype=distml.float32).dtype is distml.float32
    assert x.new_full((2,), 7).tolist() == [7, 7]
    assert x.new_empty(1, 3).shape == (1, 3)
    y = x.new_tensor([1.6, 2.2])
    assert y.dtype is distml.int64 and y.tolist() == [1, 2]
    assert distml.ones(1).new_tensor([1, 2], requires_grad=True).requires_grad


def test_format():
    loss = distml.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    assert f"{distml.tensor(3):>4}" == "   3"
    assert f"{loss}" == f"{torch.tensor(0.123456)}"
    assert f"{distml.ones(2)}" == str(distml.ones(2))
    raises_like_torch(lambda: f"{distml.ones(2):.2f}", lambda: f"{torch.ones(2):.2f}")


# -- errors as torch ---------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m: m.ones(2, 3).mm(m.ones(2, 3)),
    lambda m: m.ones(3).mm(m.ones(3, 3)),
    lambda m: m.bmm(m.ones(2, 2, 3), m.ones(3, 3, 2)),
    lambda m: m.ones(2, 2, 3).bmm(m.ones(2, 3)),
    lambda m: m.mv(m.ones(2, 3), m.ones(2)),
    lambda m: m.dot(m.ones(2), m.ones(3)),
    lambda m: m.ones(3).topk(4),
    lambda m: m.einsum("ij,jk->ik", m.ones(2, 3)),
    lambda m: m.einsum("ij->k", m.ones(2, 3)),
    lambda m: m.einsum("ijk->i", m.ones(2, 3)),
    lambda m: m.ones(3).tril(),
    lambda m: m.multinomial(m.tensor([-0.5, 1.0]), 1),
    lambda m: m.multinomial(m.tensor([0.5, 0.5]), 3),
    lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1),
    lambda m: m.ones(2, 3).roll((1, 2), (0,)),
    lambda m: m.ones(3).split([1, 1]),
    lambda m: m.ones(2).diagonal(),
])
def test_errors_match_torch(call):
    raises_like_torch(lambda: call(distml), lambda: call(torch))


# -- multinomial ---------------------------------------------------------------------------

def test_multinomial_is_seeded_and_follows_the_probabilities():
    p = distml.tensor([[0.1, 0.0, 0.6, 0.3], [0.5, 0.5, 0.0, 0.0]])
    distml.manual_seed(3)
    a = p.multinomial(4000, replacement=True)
    distml.manual_seed(3)
    assert distml.multinomial(p, 4000, True).tolist() == a.tolist()
    assert a.shape == (2, 4000) and a.dtype is distml.int64
    counts = np.stack([np.bincount(r, minlength=4) for r in a.numpy()]) / 4000
    np.testing.assert_allclose(counts, p.numpy(), atol=0.04)
    assert counts[0, 1] == 0 and counts[1, 2:].sum() == 0
    # unnormalised weights, and one row
    b = distml.tensor([2.0, 6.0]).multinomial(2000, True)
    assert abs(b.float().mean().item() - 0.75) < 0.05


def test_multinomial_without_replacement():
    distml.manual_seed(0)
    p = distml.tensor([0.05, 0.0, 0.5, 0.2, 0.25])
    for _ in range(20):
        s = p.multinomial(4).tolist()
        assert sorted(s) == [0, 2, 3, 4]
    firsts = [distml.multinomial(p, 1).item() for _ in range(400)]
    assert abs(firsts.count(2) / 400 - 0.5) < 0.1
    assert distml.tensor([0.5, 0.0]).multinomial(2).tolist() == \
        torch.tensor([0.5, 0.0]).multinomial(2).tolist()  # zeros come last, as torch


def test_bernoulli_and_normal_are_seeded():
    distml.manual_seed(1)
    a = distml.bernoulli(distml.full((1000,), 0.3))
    distml.manual_seed(1)
    assert distml.bernoulli(distml.full((1000,), 0.3)).tolist() == a.tolist()
    assert abs(a.mean().item() - 0.3) < 0.05
    n = distml.normal(distml.zeros(2000) + 1.0, 2.0)
    assert abs(n.mean().item() - 1.0) < 0.2 and abs(n.std().item() - 2.0) < 0.2
    assert distml.normal(0.0, 1.0, size=(3, 2)).shape == (3, 2)


# -- index_put ------------------------------------------------------------------------------

@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_gradients_match_torch(accumulate):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 5)).astype(np.float32)
    v0 = rng.standard_normal(3).astype(np.float32)
    rows, cols = [0, 3, 3], [1, 4, 4] if accumulate else [0, 4, 2]
    w = rng.standard_normal((4, 5)).astype(np.float32)
    out = {}
    for lib in (torch, distml):
        x = lib.tensor(x0, requires_grad=True)
        v = lib.tensor(v0, requires_grad=True)
        y = (x * 1).index_put((lib.tensor(rows), lib.tensor(cols)), v, accumulate=accumulate)
        (y * lib.tensor(w)).sum().backward()
        out[lib.__name__] = [t.detach().numpy() for t in (y, x.grad, v.grad)]
    for got, want in zip(out["distml"], out["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_setitem_with_two_index_sequences():
    # x[range(n), y] = v, as the policy-gradient and GCN examples write it
    for lib in (torch, distml):
        x = lib.zeros(3, 4)
        x[range(3), lib.tensor([2, 0, 3])] = 1.0
        x[[0, 1], [0, 0]] = lib.tensor([5.0, 6.0])
        x[lib.tensor([True, False, True]), 1] = -1.0
        if lib is torch:
            want = x.numpy()
        else:
            np.testing.assert_array_equal(x.numpy(), want)
    # the last write wins for repeated indices on the CPU backends
    x = distml.zeros(3)
    x[distml.tensor([1, 1])] = distml.tensor([2.0, 3.0])
    assert x.tolist() == [0.0, 3.0, 0.0]
    with pytest.raises(IndexError):
        distml.zeros(3, 3)[distml.tensor([0]), 1:] = 1.0


def test_setitem_gradient_flows_to_value_and_base():
    x = distml.randn(3, 3, requires_grad=True)
    v = distml.ones(2, requires_grad=True)
    y = x * 2
    y[distml.tensor([0, 2]), distml.tensor([1, 1])] = v * 3
    y.sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]
    g = np.full((3, 3), 2.0, np.float32)
    g[0, 1] = g[2, 1] = 0.0
    np.testing.assert_array_equal(x.grad.numpy(), g)


# -- torch's edge cases ---------------------------------------------------------------------

def test_reductions_with_dim_on_0d_tensors():
    x = distml.tensor(2.5)
    v, i = x.max(dim=0)
    assert v.item() == 2.5 and i.item() == 0 and v.shape == () and i.dtype is distml.int64
    assert x.argmax(-1).item() == 0 and x.sum(0).item() == 2.5 and x.mean(-1).item() == 2.5
    assert x.max(0, keepdim=True).values.shape == torch.tensor(2.5).max(0, True).values.shape
    raises_like_torch(lambda: x.max(1), lambda: torch.tensor(2.5).max(1))


def test_var_std_of_one_element_are_nan():
    assert math.isnan(distml.tensor([1.5]).var().item())
    assert math.isnan(distml.tensor([1.5]).std().item())
    assert distml.tensor([1.5]).var(unbiased=False).item() == 0.0


def test_batch_norm_needs_a_batch_dim():
    with pytest.raises(Exception) as want:
        torch.nn.functional.batch_norm(torch.ones(3), torch.zeros(3), torch.ones(3))
    assert want.type is RuntimeError
    with pytest.raises((RuntimeError, ValueError), match="2D"):
        F.batch_norm(distml.ones(3), distml.zeros(3), distml.ones(3))


def test_true_divide():
    a, b = [7, -7, 3], [2, 2, -4]
    got = distml.true_divide(distml.tensor(a), distml.tensor(b))
    want = torch.true_divide(torch.tensor(a), torch.tensor(b))
    assert got.dtype is distml.float32 and got.tolist() == want.tolist()
    assert distml.tensor(a).true_divide(2).tolist() == torch.tensor(a).true_divide(2).tolist()


# -- float64 --------------------------------------------------------------------------------

def test_float64_dtype_objects():
    assert distml.float64 is distml.double and distml.get_default_dtype() is distml.float32
    assert distml.ones(2).double().dtype is distml.float64
    assert distml.ones(2, dtype=distml.float64).dtype is distml.float64
    assert distml.ones(2, dtype="float64").dtype is distml.float64
    assert distml.ones(2).to(distml.float64).dtype is distml.float64
    assert distml.tensor([0.1], dtype=distml.double).item() == 0.1  # no float32 rounding
    assert distml.ones(2).double().numpy().dtype == np.float64
    assert distml.ones(2).double().float().dtype is distml.float32
    # numpy float64 data stays float64, as torch.tensor / from_numpy keep it
    for arr in (np.zeros(2), np.zeros(2, np.float32), np.float64(1.5)):
        assert str(distml.tensor(arr).dtype)[7:] == str(torch.tensor(arr).dtype)[6:]
    assert distml.from_numpy(np.zeros(2)).dtype is distml.float64
    assert (distml.ones(2) * np.float64(2.0)).dtype is distml.float32


@pytest.mark.parametrize("a", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("b", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("b_shape", [(2,), ()])
def test_promotion_matches_torch(a, b, b_shape):
    def run(lib):
        x = lib.ones(2, dtype=getattr(lib, a))
        y = lib.ones(b_shape, dtype=getattr(lib, b))
        return [str(r.dtype).split(".")[-1] for r in (x + y, x * y, x / y, y * x)]
    assert run(distml) == run(torch)


def test_float64_values_and_gradients_match_torch():
    rng = np.random.default_rng(1)
    x0, w0 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    res = {}
    for lib in (torch, distml):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        w = lib.tensor(w0, dtype=lib.float64, requires_grad=True)
        y = ((x @ w).tanh().exp() / 3 + x[:, :2].sigmoid() - x[1:, 1:3].log_softmax(1).mean()
             ).sum() + (x * x).sum().sqrt() + x.cumsum(1)[:, -1].prod()
        y.backward()
        assert y.dtype == lib.float64 and x.grad.dtype == lib.float64
        res[lib.__name__] = [t.detach().numpy() for t in (y, x.grad, w.grad)]
    for got, want in zip(res["distml"], res["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_float64_round_trips_through_safetensors(tmp_path):
    x = distml.tensor([[0.1, 1e-300], [math.pi, -2.0]], dtype=distml.float64)
    distml.save({"x": x, "y": distml.ones(2)}, tmp_path / "f.safetensors")
    back = distml.load(tmp_path / "f.safetensors")
    assert back["x"].dtype is distml.float64 and back["x"].tolist() == x.tolist()
    assert back["y"].dtype is distml.float32
    from safetensors.torch import load_file
    t = load_file(str(tmp_path / "f.safetensors"))["x"]
    assert t.dtype == torch.float64 and t.tolist() == x.tolist()


def test_webgl_refuses_float64_with_the_dtype_named():
    from distml.backends.webgl import lowering as webgl_backend
    with pytest.raises(TypeError, match="float64") as err:
        webgl_backend._check_dtype("float64")
    assert "\n" not in str(err.value) and "webgl" in str(err.value)


def test_sparse_tensors_are_out_of_scope():
    for call in (lambda: distml.sparse_coo_tensor([[0]], [1.0], (2,)),
                 lambda: distml.ones(2).to_sparse()):
        with pytest.raises(NotImplementedError, match="sparse tensors are out of scope"):
            call()
    assert distml.ones(2).is_sparse is False


def test_half_precision_dtypes_exist_but_make_no_tensors():
    # scripts pick among torch.float16 / bfloat16 / float32 (nanoGPT): the names import,
    # asking for such a tensor says what distml has
    assert distml.half is distml.float16 and str(distml.bfloat16) == "distml.bfloat16"
    for dt in (distml.float16, distml.bfloat16, "float16", "torch.bfloat16"):
        with pytest.raises(TypeError, match="no (b?float16) tensors: use float32") as err:
            distml.zeros(2, dtype=dt)
        assert "\n" not in str(err.value)
    with pytest.raises(TypeError, match="no float16 tensors"):
        distml.ones(2).to(distml.float16)
