"""The numpy backend's intra-op threads: the fork-join pool, and every split op against
the same op on one thread (threshold lowered so that small test shapes split too)."""
import multiprocessing
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import distml
from distml.backends.numpy import backend as nbe
from distml.backends.numpy import blas as nb
from distml.backends import parallel
from distml.backends.parallel import ForkJoinPool, split


@pytest.fixture
def pool():
    return ForkJoinPool(threads=3)


def test_pool_returns_results_in_order(pool):
    assert pool.run(lambda i: i * i, 5) == [0, 1, 4, 9, 16]
    assert pool.run(lambda i: i, 100) == list(range(100))


def test_pool_error_in_a_helper_part_reaches_the_caller_and_pool_survives(pool):
    def part(i):
        if i == 2:
            raise ValueError("part 2 failed")
        return i
    with pytest.raises(ValueError, match="part 2 failed"):
        pool.run(part, 3)
    assert pool.run(lambda i: i, 3) == [0, 1, 2]


def test_pool_nested_and_concurrent_calls_run_without_deadlock(pool):
    # a part that itself splits work runs its parts inline
    assert pool.run(lambda i: sum(pool.run(lambda j: i * 10 + j, 2)), 3) == [1, 21, 41]
    results = {}

    def caller(k):
        results[k] = pool.run(lambda i: (k, i), 3)
    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {k: [(k, 0), (k, 1), (k, 2)] for k in range(4)}


def test_pool_caller_does_not_wait_for_a_helper_that_never_starts(pool):
    # a helper held up (descheduled, or still asleep) claims no part: the caller runs
    # every part itself and returns, and the helper later finds nothing left
    pool.run(lambda i: i, 3)  # starts the helpers
    release = threading.Event()
    for inbox in pool._inboxes:
        inbox.put(lambda: release.wait(timeout=30))
    caller = [], threading.get_ident()
    try:
        assert pool.run(lambda i: caller[0].append(threading.get_ident()) or i, 6) == \
            list(range(6))
        assert caller[0] == [caller[1]] * 6
    finally:
        release.set()
    assert pool.run(lambda i: i * 2, 4) == [0, 2, 4, 6]


def test_split_covers_the_range_with_aligned_starts():
    assert split(10, 3) == [(0, 4), (4, 8), (8, 10)]
    assert split(100, 2, align=16) == [(0, 64), (64, 100)]
    assert split(3, 8) == [(0, 1), (1, 2), (2, 3)]
    assert split(0, 2) == []


def test_set_num_threads_validates_and_round_trips():
    before = distml.get_num_threads()
    try:
        distml.set_num_threads(3)
        assert distml.get_num_threads() == 3
        for bad, err in ((0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)):
            with pytest.raises(err, match="set_num_threads"):
                distml.set_num_threads(bad)
        assert distml.get_num_threads() == 3
    finally:
        distml.set_num_threads(before)


@pytest.fixture
def threads(monkeypatch):
    """Run `fn` on one thread and on three with every op split; return both results."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 1)
    before = nb.get_num_threads()

    def both(fn):
        try:
            nb.set_num_threads(1)
            one = fn()
            nb.set_num_threads(3)
            three = fn()
        finally:
            nb.set_num_threads(before)
        return one, three
    return both


def close(a, b, rtol=1e-5):
    a, b = (v if isinstance(v, (tuple, list)) else (v,) for v in (a, b))
    for x, y in zip(a, b):
        if x is None:
            assert y is None
            continue
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * max(1.0, float(np.abs(x).max())))


rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape, dtype=np.float32)


CONVS = [  # (x shape, w shape, stride, padding, dilation, groups): each path of conv2d
    ((2, 16, 14, 14), (8, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1),    # taps
    ((2, 16, 14, 13), (5, 16, 3, 2), (1, 1), (2, 0), (2, 1), 1),    # taps, uneven
    ((2, 3, 20, 20), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),      # per-image im2col
    ((2, 16, 6, 6), (24, 16, 3, 3), (2, 2), (1, 1), (1, 1), 1),     # channels-last im2col
    ((4, 16, 5, 5), (16, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1),     # ... with its GEMM
    ((8, 16, 6, 6), (8, 16, 2, 2), (1, 1), (0, 0), (1, 1), 1),      # ... weight gradient too
    ((3, 4, 9, 9), (6, 2, 3, 3), (2, 1), (1, 1), (1, 1), 2),        # grouped
    ((2, 16, 1, 1), (32, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1),     # cropped to 1x1
    ((2, 16, 2, 2), (32, 16, 3, 3), (2, 2), (1, 1), (1, 1), 1),     # cropped to 2x2, strided
    ((2, 8, 16, 16), (12, 8, 1, 1), (1, 1), (0, 0), (1, 1), 1),     # pointwise
    ((3, 64, 9, 8), (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1),     # Winograd
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONVS)
def test_split_convs_match_one_thread(threads, xs, ws, stride, padding, dilation, groups):
    be = nbe
    x, w = randn(*xs), randn(*ws)
    y1, y3 = threads(lambda: be.conv2d(x, w, stride, padding, dilation, groups))
    close(y1, y3)
    gy = randn(*y1.shape)
    close(*threads(lambda: be.conv2d_grad_input(gy, w, xs, stride, padding, dilation, groups)))
    close(*threads(lambda: be.conv2d_grad_weight(x, gy, ws, stride, padding, dilation,
                                                 groups)))


@pytest.mark.parametrize("a_shape, b_shape", [
    ((40, 24), (24, 8)),      # by rows
    ((8, 24), (24, 40)),      # by columns
    ((4, 300), (300, 5)),     # by the reduced dim
    ((5, 7, 9), (9, 6)),      # batched
    ((7, 9), (5, 9, 6)),      # batched, broadcast
    ((1, 7, 9), (1, 9, 6)),   # a batch of one
])
def test_split_matmul_matches_one_thread(threads, a_shape, b_shape):
    a, b = randn(*a_shape), randn(*b_shape)
    one, three = threads(lambda: nbe.matmul(a, b))
    close(one, three)
    close(one, np.matmul(a, b))


def test_split_batch_norm_pool_elementwise_and_sgd_match_one_thread(threads):
    be = nbe
    x = randn(4, 6, 5, 5)
    w, b = randn(6), randn(6)
    fwd = threads(lambda: be.batch_norm_train(x, w, b, (0, 2, 3), 1e-5))
    close(*fwd)
    _, centered, _, _, invstd = fwd[0]
    g = randn(*x.shape)
    close(*threads(lambda: be.batch_norm_train_backward(g, centered, invstd, w, (0, 2, 3))))
    pooled = threads(lambda: be.max_pool2d(x, (2, 2), (2, 2), (1, 1), (1, 1), False))
    close(*pooled, rtol=0)
    gy = randn(*pooled[0][0].shape)
    close(*threads(lambda: be.max_pool2d_grad(gy, pooled[0][1], x.shape)), rtol=0)
    for op in ("relu", "exp", "neg"):
        close(*threads(lambda: be.unary(op, x)), rtol=0)
    other = randn(*x.shape)
    for op in ("add", "mul", "gt", "maximum"):
        close(*threads(lambda: be.binary(op, x, other)), rtol=0)
        close(*threads(lambda: be.binary(op, x, np.float32(0.5))), rtol=0)
    cond = x > 0
    close(*threads(lambda: be.where(cond, x, np.float32(0))), rtol=0)
    close(*threads(lambda: be.where(cond, x, g)), rtol=0)
    p, grad, buf = randn(1000), randn(1000), randn(1000)
    close(*threads(lambda: be.sgd_update(p, grad, buf, 0.1, 0.9, 0.0, 1e-4, True, False)),
          rtol=0)


def _conv_in_child(queue):
    x, w = np.ones((2, 16, 14, 14), np.float32), np.ones((4, 16, 3, 3), np.float32)
    queue.put(float(nbe.conv2d(x, w, (1, 1), (1, 1), (1, 1), 1).sum()))


def test_a_forked_child_can_use_the_threads(threads):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    nb.set_num_threads(2)
    try:
        nbe.conv2d(randn(2, 16, 14, 14), randn(4, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_conv_in_child, args=(queue,))
        child.start()
        value = queue.get(timeout=60)
        child.join(timeout=60)
    finally:
        nb.set_num_threads(1)
    # 16 channels x up to 9 taps of ones: the interior outputs are 144
    assert child.exitcode == 0 and value == pytest.approx(
        4 * 2 * (144 * 12 * 12 + 96 * 4 * 12 + 64 * 4))


def test_split_elementwise_ops_raise_no_floating_point_warnings(threads):
    x = np.array([-1.0, 0.0, 1.0] * 40, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs = threads(lambda: nbe.unary("log", x))
        quotients = threads(lambda: nbe.binary("div", x, np.zeros_like(x)))
    close(*logs, rtol=0)
    close(*quotients, rtol=0)


@pytest.mark.parametrize("value, threads", [("3", 3), ("1", 1), ("0", None), ("two", None)])
def test_distml_num_threads_environment_variable(value, threads):
    code = "import distml; print(distml.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, DISTML_NUM_THREADS=value), timeout=120)
    if threads is None:
        assert out.returncode != 0 and "DISTML_NUM_THREADS must be a positive integer" in \
            out.stderr
    else:
        assert out.returncode == 0 and out.stdout.strip() == str(threads)
