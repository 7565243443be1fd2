"""The Tensor floor's seams: the core's mixins and the hooks they build with (distml/_tensor/),
and the composed methods attached to Tensor (distml/_composed_ops/)."""
import pytest

import distml


def test_tensor_is_a_tensor_base_and_its_mixins_add_no_slots():
    from distml._tensor.base import TensorBase
    assert issubclass(distml.Tensor, TensorBase)
    for cls in distml.Tensor.__mro__[1:-1]:
        assert cls.__dict__.get("__slots__") == (), f"{cls.__name__} needs __slots__ = ()"


@pytest.mark.parametrize("method, factory, args", [
    ("uniform_", "rand", ()),
    ("normal_", "randn", ()),
])
def test_inplace_random_ops_draw_what_the_factories_draw(method, factory, args):
    g1, g2 = distml.Generator(7), distml.Generator(7)
    x = getattr(distml.zeros(3, 4), method)(*args, generator=g1)
    y = getattr(distml, factory)(3, 4, generator=g2)
    assert x.tolist() == y.tolist()
    assert g1.get_state() == g2.get_state()  # the stream advanced by the same count


def test_bernoulli_is_a_uniform_draw_below_p():
    x = distml.zeros(50).bernoulli_(0.3, generator=distml.Generator(3))
    u = distml.rand(50, generator=distml.Generator(3))
    assert x.tolist() == (u < 0.3).float().tolist()


def test_backward_takes_the_gradient_as_data():
    a = distml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (a * a).backward([1.0, 0.5, 2.0])
    b = distml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (b * b).backward(distml.tensor([1.0, 0.5, 2.0]))
    assert a.grad.tolist() == b.grad.tolist() == [2.0, 2.0, 12.0]


def test_backward_rejects_a_gradient_of_the_wrong_shape():
    a = distml.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad has shape"):
        (a * 2).backward([1.0, 2.0, 3.0])


def test_fill_on_a_view_writes_back_and_keeps_the_dtype():
    x = distml.zeros(2, 3, dtype=distml.int64)
    x[1].fill_(5)
    assert x.tolist() == [[0, 0, 0], [5, 5, 5]]
    assert x.dtype is distml.int64


def test_ops_on_a_parameter_return_plain_tensors():
    p = distml.nn.Parameter(distml.ones(2))
    assert type(p * 2) is distml.Tensor
    assert type(p.exp()) is distml.Tensor
    assert type(p[0]) is distml.Tensor


def test_composed_methods_are_plain_functions_on_tensor():
    import inspect

    from distml import _composed_ops
    topk = distml.Tensor.__dict__["topk"]  # on the class itself: help() and inspect see it
    assert inspect.isfunction(topk) and topk.__module__ == "distml._composed_ops.sorting"
    assert "def topk" in inspect.getsource(distml.Tensor.topk)
    assert str(inspect.signature(distml.Tensor.topk)).startswith("(self, k, dim=-1")
    x = distml.tensor([3.0, 1.0, 2.0])
    assert x.topk(2).values.tolist() == distml.topk(x, 2).values.tolist() == [3.0, 2.0]
    assert distml.sort(x).values.tolist() == [1.0, 2.0, 3.0]
    assert isinstance(distml.Tensor.is_sparse, property) and not x.is_sparse
    assert f"{x.sum():.1f}" == "6.0"  # __format__ is attached too
    assert set(_composed_ops.FREE_FUNCTIONS) <= set(dir(distml))


def test_attach_refuses_to_replace_a_core_method():
    from distml import _composed_ops

    class Core:
        def sort(self):
            return "core"

    with pytest.raises(TypeError, match="SortingOps.sort would replace Core.sort"):
        _composed_ops.attach(Core)


def test_device_context_sets_the_default_device_inside_the_block():
    """`with distml.device(D):` as in PyTorch: factories and new modules land on D (the
    worker builds its model so, drawing the initial weights on the device), nested
    blocks restore their outer default."""
    import distml
    import minimal_backend
    minimal_backend.install("ctxdev", cpu=False)
    try:
        outer = distml.get_default_device()
        with distml.device("ctxdev") as d:
            assert d.type == "ctxdev" and distml.get_default_device() == "ctxdev"
            assert distml.nn.Linear(2, 3).weight.device == "ctxdev"
            with distml.device("cpu"):
                assert distml.zeros(2).device == "cpu"
            assert distml.zeros(2).device == "ctxdev"
        assert distml.get_default_device() == outer
        assert distml.zeros(2).device == outer
    finally:
        minimal_backend.uninstall("ctxdev")
