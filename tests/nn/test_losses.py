"""distml.nn losses against torch (float32): cross_entropy (class and probability
targets, label smoothing, ignore_index, weights), nll_loss, the regression and binary
losses, the loss modules and their errors."""
import math
import warnings

import numpy as np
import pytest
# _restore_numpy_backend: an autouse fixture, active in this module
from nn_float32_reference import _restore_numpy_backend  # noqa: F401
from nn_float32_reference import _img, close, dm, rng, tt, torch

import distml
import distml.nn as nn
import distml.nn.functional as F

tnn = torch.nn
TF = torch.nn.functional


# -- losses -----------------------------------------------------------------------------------

CE_CASES = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.1},
    {"label_smoothing": 0.25, "reduction": "sum"},
    {"label_smoothing": 0.2, "reduction": "none"},
    {"weight": [0.2, 1.0, 2.0, 0.5]},
    {"weight": [0.2, 1.0, 2.0, 0.5], "reduction": "none"},
    {"ignore_index": 2},
    {"ignore_index": 2, "reduction": "none"},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.3},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.3,
     "reduction": "sum"},
    {"weight": [0.2, 1.0, 2.0, 0.5], "ignore_index": 1, "label_smoothing": 0.3,
     "reduction": "none"},
    {"ignore_index": 3, "label_smoothing": 0.15},
]


def _loss_pair(fn_name, x, target, kwargs, target_float=False):
    kwt = dict(kwargs)
    kwd = dict(kwargs)
    for k in ("weight", "pos_weight"):
        if k in kwargs:
            kwt[k] = tt(np.array(kwargs[k], dtype=np.float32))
            kwd[k] = dm(np.array(kwargs[k], dtype=np.float32))
    xt, xd = tt(x, True), dm(x, True)
    yt = getattr(TF, fn_name)(xt, tt(target), **kwt)
    yd = getattr(F, fn_name)(xd, dm(target), **kwd)
    close(yd, yt, what=f"{fn_name} {kwargs}")
    g = rng(5).randn(*yt.shape).astype(np.float32) if yt.ndim else np.float32(1.0)
    (yt * tt(np.asarray(g))).sum().backward()
    (yd * dm(np.asarray(g))).sum().backward()
    close(xd.grad, xt.grad, what=f"grad {fn_name} {kwargs}")


@pytest.mark.parametrize("kwargs", CE_CASES, ids=[str(c) for c in CE_CASES])
def test_cross_entropy_class_targets(kwargs, backend):
    x = _img((6, 4)) * 2
    target = np.array([0, 1, 2, 3, 2, 1], dtype=np.int64)
    _loss_pair("cross_entropy", x, target, kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}, {"reduction": "none"},
                                    {"weight": [0.5, 1.0, 3.0], "ignore_index": 0,
                                     "label_smoothing": 0.1}],
                         ids=["plain", "smooth", "none", "weighted"])
def test_cross_entropy_spatial_and_unbatched(kwargs):
    x = _img((2, 3, 4, 5))
    target = rng(3).randint(0, 3, size=(2, 4, 5)).astype(np.int64)
    _loss_pair("cross_entropy", x, target, kwargs)
    _loss_pair("cross_entropy", _img((3,)), np.array(2, dtype=np.int64), kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.3}, {"reduction": "sum"},
                                    {"reduction": "none", "weight": [1.0, 2.0, 0.5, 1.5]},
                                    {"weight": [1.0, 2.0, 0.5, 1.5], "label_smoothing": 0.1}],
                         ids=["plain", "smooth", "sum", "none_weighted", "mean_weighted"])
def test_cross_entropy_probability_targets(kwargs, backend):
    x = _img((5, 4))
    p = rng(4).rand(5, 4).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    _loss_pair("cross_entropy", x, p, kwargs)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = _img((3, 4))
    t = np.full(3, -100, dtype=np.int64)
    for ls in (0.0, 0.1):
        a = F.cross_entropy(dm(x), dm(t), label_smoothing=ls).item()
        b = TF.cross_entropy(tt(x), tt(t), label_smoothing=ls).item()
        assert math.isnan(a) and math.isnan(b)


@pytest.mark.parametrize("kwargs", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                    {"weight": [1.0, 0.1, 3.0]}, {"ignore_index": 0},
                                    {"weight": [1.0, 0.1, 3.0], "ignore_index": 2,
                                     "reduction": "none"}],
                         ids=["mean", "sum", "none", "weight", "ignore", "both"])
def test_nll_loss(kwargs, backend):
    x = _img((5, 3))
    target = np.array([0, 2, 1, 2, 0], dtype=np.int64)
    _loss_pair("nll_loss", x, target, kwargs)


def test_regression_and_binary_losses(backend):
    x = _img((4, 3))
    y = _img((4, 3), 1)
    for reduction in ("mean", "sum", "none"):
        _loss_pair("mse_loss", x, y, {"reduction": reduction})
        _loss_pair("l1_loss", x, y, {"reduction": reduction})
        _loss_pair("smooth_l1_loss", x, y, {"reduction": reduction, "beta": 0.5})
        _loss_pair("huber_loss", x, y, {"reduction": reduction, "delta": 0.7})
    w = rng(2).rand(4, 3).astype(np.float32)
    _loss_pair("mse_loss", x, y, {"weight": w})
    _loss_pair("l1_loss", x, y, {"weight": w, "reduction": "sum"})
    p = 1 / (1 + np.exp(-x))
    t = rng(3).rand(4, 3).astype(np.float32)
    for reduction in ("mean", "sum", "none"):
        _loss_pair("binary_cross_entropy", p, t, {"reduction": reduction})
        _loss_pair("binary_cross_entropy_with_logits", x * 5, t, {"reduction": reduction})
    _loss_pair("binary_cross_entropy", p, t, {"weight": [0.5, 1.0, 2.0]})
    _loss_pair("binary_cross_entropy_with_logits", x * 5, t,
               {"weight": [0.5, 1.0, 2.0], "pos_weight": [3.0, 1.0, 0.2]})
    lp = np.log(p / p.sum(1, keepdims=True))
    q = t / t.sum(1, keepdims=True)
    for reduction in ("batchmean", "sum", "none"):
        _loss_pair("kl_div", lp, q, {"reduction": reduction})
        _loss_pair("kl_div", lp, np.log(q), {"reduction": reduction, "log_target": True})


def test_loss_modules_match_functional():
    x = _img((6, 4))
    target = np.array([0, 1, 2, 3, 2, 1], dtype=np.int64)
    w = np.array([0.5, 1.0, 2.0, 1.0], dtype=np.float32)
    t_loss = tnn.CrossEntropyLoss(weight=tt(w), ignore_index=3, label_smoothing=0.1)
    d_loss = nn.CrossEntropyLoss(weight=dm(w), ignore_index=3, label_smoothing=0.1)
    close(d_loss(dm(x), dm(target)), t_loss(tt(x), tt(target)))
    assert list(d_loss.state_dict()) == list(t_loss.state_dict()) == ["weight"]
    assert repr(d_loss) == repr(t_loss) == "CrossEntropyLoss()"
    lx = np.log(np.abs(x) / np.abs(x).sum(1, keepdims=True))
    close(nn.NLLLoss(reduction="sum")(dm(lx), dm(target)),
          tnn.NLLLoss(reduction="sum")(tt(lx), tt(target)))
    y = _img((6, 4), 2)
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"):
        close(getattr(nn, name)()(dm(x), dm(y)), getattr(tnn, name)()(tt(x), tt(y)),
              what=name)
    p, t = 1 / (1 + np.exp(-x)), (y > 0).astype(np.float32)
    close(nn.BCELoss()(dm(p), dm(t)), tnn.BCELoss()(tt(p), tt(t)))
    pw = np.array([2.0, 1.0, 0.5, 1.0], dtype=np.float32)
    close(nn.BCEWithLogitsLoss(pos_weight=dm(pw))(dm(x), dm(t)),
          tnn.BCEWithLogitsLoss(pos_weight=tt(pw))(tt(x), tt(t)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(nn.KLDivLoss(reduction="batchmean")(dm(lx), dm(p / p.sum(1, keepdims=True))),
              tnn.KLDivLoss(reduction="batchmean")(tt(lx), tt(p / p.sum(1, keepdims=True))))
        assert nn.MSELoss(size_average=False).reduction == "sum"


def test_loss_errors_are_clear():
    x = dm(_img((4, 3)))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target "
                                         r"batch_size \(3\)\."):
        F.cross_entropy(x, distml.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(x, distml.tensor([0, 1, 2, 5]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds."):
        F.cross_entropy(x, distml.tensor([0, 1, 2, -1]))
    # ignore_index may be any value, including a negative one
    F.cross_entropy(x, distml.tensor([0, 1, 2, -1]), ignore_index=-1)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but "
                                           "got Float"):
        F.cross_entropy(x, distml.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(RuntimeError, match="Expected floating point type for target with "
                                           "class probabilities, got Long"):
        F.cross_entropy(x, distml.zeros(4, 3, dtype=distml.int64))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating "
                                           "point target"):
        F.cross_entropy(x, distml.rand(4, 3), ignore_index=1)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.cross_entropy(x, distml.tensor([0, 1, 2, 1]), reduction="foo")
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(x, distml.tensor([0, 1, 2, 1]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all "
                                           "3 classes or no classes"):
        F.nll_loss(x, distml.tensor([0, 1, 2, 1]), weight=distml.ones(4))
    with pytest.raises(RuntimeError, match=r"Expected target size \[4, 2\], got \[4\]"):
        F.nll_loss(distml.randn(4, 3, 2), distml.tensor([0, 1, 2, 1]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        F.nll_loss(x, distml.zeros(4, 1, dtype=distml.int64))
    with pytest.raises(ValueError, match="that is different to the input size"):
        F.binary_cross_entropy(distml.rand(3), distml.rand(3, 1))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(distml.tensor([0.5, 1.5]), distml.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(distml.rand(3), distml.rand(3, 1))
