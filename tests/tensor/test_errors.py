"""Error cases: distml raises torch's exception type with a message that names the problem.

Each case runs on both CPU backends; the same call is also made with torch (when installed)
to check that the exception type matches torch's.
"""

import minimal_backend
import pytest

import distml


def _bw_twice(lib):
    x = lib.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _inplace_leaf(lib):
    lib.ones(3, requires_grad=True).add_(1)


def _setitem_leaf(lib):
    x = lib.ones(3, requires_grad=True)
    x[0] = 2.0


def _iadd_leaf(lib):
    x = lib.ones(3, requires_grad=True)
    x += 1


# (id, fn(lib), exception type, regex the distml message must match)
ERRORS = [
    ("add_shape", lambda L: L.ones(2, 3) + L.ones(4), RuntimeError,
     r"size of tensor a .* must match the size of tensor b"),
    ("mul_shape_3d", lambda L: L.ones(2, 3, 4) * L.ones(3, 3), RuntimeError,
     r"must match the size"),
    ("matmul_shape", lambda L: L.ones(2, 3) @ L.ones(4, 5), RuntimeError,
     r"shapes cannot be multiplied \(2x3 and 4x5\)"),
    ("matmul_1d_shape", lambda L: L.ones(3) @ L.ones(4), RuntimeError, r"3.*4"),
    ("matmul_batch", lambda L: L.ones(2, 2, 3) @ L.ones(3, 3, 5), RuntimeError,
     r"\[2\] and \[3\]"),
    ("matmul_0d", lambda L: L.tensor(2.0) @ L.ones(2), RuntimeError, r"at least 1D"),
    ("matmul_dtype", lambda L: L.ones(2, 2) @ L.ones(2, 2, dtype=L.int64), RuntimeError,
     r"same dtype"),
    ("cat_shape", lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)]), RuntimeError,
     r"Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4"),
    ("cat_ndim", lambda L: L.cat([L.ones(2, 3), L.ones(3, 2, 1)]), RuntimeError,
     r"same number of dimensions: got 2 and 3"),
    ("cat_empty_list", lambda L: L.cat([]), ValueError, r"non-empty"),
    ("stack_empty_list", lambda L: L.stack([]), RuntimeError, r"non-empty"),
    ("cat_dim", lambda L: L.cat([L.ones(2), L.ones(2)], 1), IndexError,
     r"Dimension out of range"),
    ("stack_shape", lambda L: L.stack([L.ones(2, 3), L.ones(3, 2)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[3, 2\]"),
    ("reshape_size", lambda L: L.ones(2, 3).reshape(4), RuntimeError,
     r"shape '\[4\]' is invalid for input of size 6"),
    ("reshape_infer", lambda L: L.ones(2, 3).reshape(4, -1), RuntimeError,
     r"shape '\[4, -1\]' is invalid for input of size 6"),
    ("reshape_two_infer", lambda L: L.ones(2, 3).reshape(-1, -1), RuntimeError,
     r"only one dimension can be inferred"),
    ("view_size", lambda L: L.ones(2, 3).view(5), RuntimeError, r"invalid for input of size 6"),
    ("expand_size", lambda L: L.ones(2, 3).expand(4, 3), RuntimeError,
     r"expanded size of the tensor \(4\) must match the existing size \(2\) at "
     r"non-singleton dimension 0"),
    ("expand_fewer_dims", lambda L: L.ones(2, 3).expand(3), RuntimeError,
     r"number of sizes provided \(1\) must be greater or equal"),
    ("permute_len", lambda L: L.ones(2, 3).permute(0), RuntimeError, r"number of dimensions"),
    ("split_sizes", lambda L: L.ones(5).split([2, 2]), RuntimeError, r"sum exactly to 5"),
    ("flatten_order", lambda L: L.ones(2, 3, 4).flatten(2, 1), RuntimeError,
     r"start_dim cannot come after end_dim"),
    ("where_shape", lambda L: L.where(L.ones(2, dtype=L.bool), L.ones(3), L.ones(2)),
     RuntimeError, r"\[2\].*\[3\]"),
    ("dim_out_of_range", lambda L: L.ones(2, 3).sum(2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("index_out_of_bounds", lambda L: L.ones(2, 3)[2], IndexError,
     r"index 2 is out of bounds for dimension 0 with size 2"),
    ("index_neg_out_of_bounds", lambda L: L.ones(2, 3)[0, -4], IndexError,
     r"index -4 is out of bounds for dimension 1 with size 3"),
    ("index_tensor_out_of_bounds", lambda L: L.ones(2, 3)[L.tensor([0, 2])], IndexError,
     r"index 2 is out of bounds for dimension with size 2"),
    ("index_tensor_neg_out_of_bounds", lambda L: L.ones(2, 3)[:, L.tensor([-4])], IndexError,
     r"index -4 is out of bounds"),
    ("index_too_many", lambda L: L.ones(2, 3)[0, 0, 0], IndexError,
     r"too many indices for tensor of dimension 2"),
    ("index_mask_shape", lambda L: L.ones(2, 3)[L.ones(3, dtype=L.bool)], IndexError,
     r"shape of the mask \[3\]"),
    ("index_negative_step", lambda L: L.ones(5)[::-1], ValueError,
     r"step must be greater than zero"),
    ("gather_out_of_bounds", lambda L: L.ones(2, 3).gather(1, L.tensor([[0], [3]])),
     RuntimeError, r"index 3 is out of bounds"),
    ("gather_negative_index", lambda L: L.ones(2, 3).gather(1, L.tensor([[0], [-1]])),
     RuntimeError, r"index -1 is out of bounds"),
    ("scatter_add_out_of_bounds",
     lambda L: L.zeros(2, 3).scatter_add(0, L.tensor([[2]]), L.ones(1, 1)), RuntimeError,
     r"index 2 is out of bounds"),
    ("index_select_out_of_bounds", lambda L: L.ones(2, 3).index_select(1, L.tensor([3])),
     RuntimeError, r"3"),
    ("gather_index_dtype", lambda L: L.ones(2, 3).gather(1, L.tensor([[0.0], [1.0]])),
     RuntimeError, r"gather\(\): Expected dtype int64 for index"),
    ("gather_index_ndim", lambda L: L.ones(2, 3).gather(1, L.tensor([0, 1])), RuntimeError,
     r"same number of dimensions"),
    ("index_select_index_dtype", lambda L: L.ones(2, 3).index_select(1, L.tensor([0.0])),
     RuntimeError, r"index_select\(\): Expected dtype int64 for index"),
    ("scatter_add_index_dtype",
     lambda L: L.zeros(2, 3).scatter_add(0, L.tensor([[0.0]]), L.ones(1, 1)), RuntimeError,
     r"Expected dtype int64 for index"),
    ("requires_grad_int_tensor", lambda L: L.tensor([1, 2], requires_grad=True), RuntimeError,
     r"(?i)only Tensors of floating point .*can require gradients"),
    ("requires_grad_int_method", lambda L: L.tensor([1, 2]).requires_grad_(), RuntimeError,
     r"only Tensors of floating point .*can require gradients"),
    ("requires_grad_int_zeros", lambda L: L.zeros(2, dtype=L.int64, requires_grad=True),
     RuntimeError, r"(?i)only Tensors of floating point .*can require gradients"),
    ("requires_grad_bool", lambda L: L.ones(2, dtype=L.bool).requires_grad_(), RuntimeError,
     r"floating point"),
    ("backward_non_scalar", lambda L: (L.ones(2, requires_grad=True) * 2).backward(),
     RuntimeError, r"grad can be implicitly created only for scalar outputs"),
    ("backward_no_grad", lambda L: L.ones(2).sum().backward(), RuntimeError,
     r"does not require grad and does not have a grad_fn"),
    ("backward_twice", _bw_twice, RuntimeError,
     r"backward through the graph a second time.*retain_graph=True"),
    ("inplace_leaf_requires_grad", _inplace_leaf, RuntimeError,
     r"leaf Variable that requires grad is being used in an in-place operation"),
    ("iadd_leaf_requires_grad", _iadd_leaf, RuntimeError,
     r"leaf Variable that requires grad is being used in an in-place operation"),
    ("setitem_leaf_requires_grad", _setitem_leaf, RuntimeError,
     r"leaf Variable that requires grad is being used in an in-place operation"),
    ("mean_int", lambda L: L.tensor([1, 2]).mean(), RuntimeError,
     r"mean\(\): could not infer output dtype"),
    ("item_many", lambda L: L.ones(2).item(), RuntimeError,
     r"a Tensor with 2 elements cannot be converted to Scalar"),
    ("bool_ambiguous", lambda L: bool(L.ones(2)), RuntimeError,
     r"Boolean value of Tensor with more than one value is ambiguous"),
    ("max_empty", lambda L: L.ones(0).max(), RuntimeError,
     r"Expected reduction dim to be specified for input.numel\(\) == 0"),
    ("clamp_no_bounds", lambda L: L.ones(2).clamp(), RuntimeError,
     r"At least one of 'min' or 'max' must not be None"),
    ("arange_zero_step", lambda L: L.arange(0, 5, 0), RuntimeError, r"step must be nonzero"),
    ("ragged_list", lambda L: L.tensor([[1, 2], [3]]), ValueError, r"(?i)sequence"),
]


@pytest.mark.parametrize("fn,exc,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error(fn, exc, match, backend):
    with pytest.raises(exc, match=match):
        fn(distml)


@pytest.mark.parametrize("fn,exc", [e[1:3] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_type_matches_torch(fn, exc):
    torch = pytest.importorskip("torch")
    with pytest.raises(exc):
        fn(torch)


def test_retain_graph_allows_second_backward(backend):
    x = distml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0, 12.0]


def test_inplace_on_leaf_allowed_under_no_grad(backend):
    x = distml.ones(3, requires_grad=True)
    with distml.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0, 2.0, 2.0] and x.requires_grad and x.is_leaf


@pytest.fixture
def fake_device():
    """A second device on CPython: tests/minimal_backend.py registered as device "fake"."""
    minimal_backend.install("fake", cpu=False)
    try:
        yield "fake"
    finally:
        minimal_backend.uninstall("fake")


def test_mixing_devices(fake_device):
    a = distml.ones(2)
    b = distml.ones(2, device=fake_device)
    assert b.device == distml.device("fake") and (b * 2).tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        a + b
    assert (a + b.to("cpu")).tolist() == [2.0, 2.0]


def test_unknown_device_names_the_registered_ones(fake_device):
    with pytest.raises(RuntimeError, match="unknown device type 'nope'.*'fake'"):
        distml.ones(2, device="nope")
