"""Aggregation rules, each alone: exact values, robustness to bad workers, bad input."""
import numpy as np
import pytest

from distml.distributed import strategy as S


def _updates(values):
    return [{"w": np.array(v, np.float32)} for v in values]


def test_weighted_mean_is_the_global_batch_gradient():
    rng = np.random.default_rng(0)
    per_sample = rng.standard_normal((10, 3))
    parts = [per_sample[:2], per_sample[2:7], per_sample[7:]]
    updates = [{"g": p.mean(0).astype(np.float32)} for p in parts]
    got = S.weighted_mean(updates, [len(p) for p in parts])["g"]
    np.testing.assert_allclose(got, per_sample.mean(0), rtol=1e-6)


def test_robust_rules_resist_outliers():
    honest = [[1.0, 2.0], [1.1, 2.1], [0.9, 1.9], [1.0, 2.05], [1.05, 1.95]]
    attacked = _updates(honest + [[100.0, -100.0]])
    for rule in ("median", "trimmed_mean", "krum"):
        got = S.aggregate(attacked, [1] * 6, rule=rule)["w"]
        assert np.abs(got - [1.0, 2.0]).max() < 0.2, (rule, got)
    mean = S.aggregate(attacked, [1] * 6, rule="mean")["w"]
    assert np.abs(mean - [1.0, 2.0]).max() > 10  # the plain mean is dragged away


def test_sign_flip_against_median():
    honest = _updates([[1.0, -1.0]] * 3)
    flipped = _updates([[-1.0, 1.0]] * 2)
    assert S.coordinate_median(honest + flipped)["w"].tolist() == [1.0, -1.0]


def test_trimmed_mean_values():
    got = S.trimmed_mean(_updates([[0.0], [1.0], [2.0], [3.0], [100.0]]), trim=0.2)
    assert got["w"].tolist() == [2.0]
    with pytest.raises(ValueError, match="leaves none"):
        S.trimmed_mean(_updates([[0.0], [1.0]]), trim=0.5)


def test_krum_needs_enough_workers():
    with pytest.raises(ValueError, match="more than 2f"):
        S.krum(_updates([[0.0]] * 4), f=1)


def test_clip_by_norm():
    u = {"a": np.array([3.0, 0.0], np.float32), "b": np.array([4.0], np.float32)}
    assert S.global_norm(u) == pytest.approx(5.0)
    c = S.clip_by_norm(u, 1.0)
    assert S.global_norm(c) == pytest.approx(1.0, rel=1e-6)
    assert S.clip_by_norm(u, 10.0)["a"].tolist() == [3.0, 0.0]


def test_bad_input():
    with pytest.raises(ValueError, match="no updates"):
        S.weighted_mean([], [])
    with pytest.raises(ValueError, match="shape"):
        S.weighted_mean([{"w": np.zeros(2)}, {"w": np.zeros(3)}], [1, 1])
    with pytest.raises(ValueError, match="tensors"):
        S.weighted_mean([{"w": np.zeros(2)}, {"v": np.zeros(2)}], [1, 1])
    with pytest.raises(ValueError, match="weights"):
        S.weighted_mean(_updates([[1.0], [2.0]]), [0, 0])
    with pytest.raises(ValueError, match="unknown aggregation rule"):
        S.aggregate(_updates([[1.0]]), [1], rule="vote")
