"""distml inside Pyodide (pytest-pyodide's `run_in_pyodide`: the function body runs in the
page's Pyodide, its arguments and result are pickled across). See conftest.py."""
import pytest
from pytest_pyodide import run_in_pyodide


@run_in_pyodide
def test_distml_imports_without_numpy(selenium):
    import sys

    import distml
    from distml.backends import cpu_backend_name

    assert sys.platform == "emscripten" and sys.version_info >= (3, 14)
    assert distml.__version__ == "0.1.0"
    assert cpu_backend_name() == "python"  # no numpy in this Pyodide
    assert "numpy" not in sys.modules


def _by_hand(w, b, x, y, lr):
    """One SGD step of y ~ x @ w.T + b with the mean squared error, in plain Python."""
    n = len(x)
    pred = [sum(wi * xi for wi, xi in zip(w[0], row)) + b[0] for row in x]
    loss = sum((p - t[0]) ** 2 for p, t in zip(pred, y)) / n
    d = [2 * (p - t[0]) / n for p, t in zip(pred, y)]
    gw = [sum(di * row[j] for di, row in zip(d, x)) for j in range(len(w[0]))]
    return loss, [[wj - lr * g for wj, g in zip(w[0], gw)]], [b[0] - lr * sum(d)]


def test_training_step_on_cpu_matches_the_hand_computed_one(selenium):
    w, b, x, y, lr = [[0.5, -0.25]], [0.1], [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], \
        [[1.0], [0.0], [2.0]], 0.1

    @run_in_pyodide
    def step(selenium, w, b, x, y, lr):
        import distml
        import distml.nn as nn
        import distml.nn.functional as F

        model = nn.Linear(2, 1)
        with distml.no_grad():
            model.weight.copy_(distml.tensor(w))
            model.bias.copy_(distml.tensor(b))
        opt = distml.optim.SGD(model.parameters(), lr=lr)
        loss = F.mse_loss(model(distml.tensor(x)), distml.tensor(y))
        loss.backward()
        opt.step()
        return loss.item(), model.weight.tolist(), model.bias.tolist()

    loss, new_w, new_b = step(selenium, w, b, x, y, lr)
    want_loss, want_w, want_b = _by_hand(w, b, x, y, lr)
    assert abs(loss - want_loss) <= 1e-6 * abs(want_loss)  # float32 rounding
    for got, want in zip(new_w[0] + new_b, want_w[0] + want_b):
        assert abs(got - want) <= 1e-6 * max(1.0, abs(want))


@run_in_pyodide
def test_mnist_cnn_step_is_deterministic_and_finite(selenium):
    import math

    import distml
    import distml.nn.functional as F
    from distml.models import MnistCNN

    def one_step():
        distml.manual_seed(0)
        model = MnistCNN(width=4)
        opt = distml.optim.Adam(model.parameters(), lr=1e-3)
        x, y = distml.randn(2, 1, 28, 28), distml.tensor([3, 7])
        losses = []
        for _ in range(2):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    first, again = one_step(), one_step()
    assert first == again and all(math.isfinite(v) for v in first)
    assert first[1] < first[0]  # Adam on the same batch lowers its loss
    assert abs(first[0] - math.log(10)) < 0.5  # near chance at the start


def test_webgl_matmul_matches_cpu(selenium):
    """The "webgl" device in the page's main thread (SwiftShader under headless Chromium)."""

    @run_in_pyodide
    def worst_difference(selenium):
        import distml

        if not distml.webgl.is_available():
            return None
        distml.manual_seed(0)
        a, b = distml.randn(33, 17), distml.randn(17, 9)
        want = (a @ b).tolist()
        got = (a.to("webgl") @ b.to("webgl")).to("cpu").tolist()
        return max(abs(g - w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))

    worst = worst_difference(selenium)
    if worst is None:
        pytest.skip("no WebGL2 in this page")
    assert worst < 1e-4
