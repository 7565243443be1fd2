"""Aggregation strategies: pure functions from worker updates to one update.

An update is a dict name -> numpy array (all updates share names and shapes). The server
holds the model and optimizer; a strategy only decides what gradient they get, so each
rule here is tested on its own (Flower's split of strategy from transport).
Robust rules (median, trimmed mean, Krum) bound what a few bad or hostile workers can do.
"""
import numpy as np


def _check(updates):
    if not updates:
        raise ValueError("no updates to aggregate")
    names = list(updates[0])
    for i, u in enumerate(updates[1:], 1):
        if list(u) != names:
            raise ValueError(f"update {i} has tensors {sorted(u)}, expected {sorted(names)}")
        for k in names:
            if np.shape(u[k]) != np.shape(updates[0][k]):
                raise ValueError(f"update {i}: {k!r} has shape {np.shape(u[k])}, expected "
                                 f"{np.shape(updates[0][k])}")
    return names


def weighted_mean(updates, weights):
    """Mean weighted by each worker's batch size: with equal per-sample losses this is the
    gradient of the global batch, so data-parallel SGD equals single-process SGD."""
    names = _check(updates)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(updates),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {len(updates)} non-negative numbers with a "
                         f"positive sum, got {list(weights)}")
    w = w / w.sum()
    return {k: sum(wi * u[k].astype(np.float64) for wi, u in zip(w, updates))
            .astype(np.float32) for k in names}


def coordinate_median(updates, weights=None):
    """Coordinate-wise median (ignores weights: a median is not weighted here)."""
    names = _check(updates)
    return {k: np.median(np.stack([u[k] for u in updates]), axis=0).astype(np.float32)
            for k in names}


def trimmed_mean(updates, weights=None, trim=0.2):
    """Coordinate-wise mean after dropping the `trim` fraction largest and smallest values
    (at least one from each side when there are 3 or more updates)."""
    names = _check(updates)
    n = len(updates)
    k = int(trim * n)
    if n >= 3:
        k = max(k, 1)
    if 2 * k >= n:
        raise ValueError(f"trimmed_mean: trimming {k} from each side of {n} updates leaves none")
    out = {}
    for name in names:
        stacked = np.sort(np.stack([u[name] for u in updates]), axis=0)
        out[name] = stacked[k:n - k].mean(axis=0).astype(np.float32)
    return out


def krum(updates, weights=None, f=1, m=1):
    """(Multi-)Krum: score each update by the summed squared distance to its n - f - 2
    nearest others; average the m best. Tolerates f Byzantine workers when n > 2f + 2."""
    names = _check(updates)
    n = len(updates)
    if n <= 2 * f + 2:
        raise ValueError(f"krum needs more than 2f + 2 = {2 * f + 2} updates, got {n}")
    flat = np.stack([np.concatenate([u[k].ravel() for k in names]).astype(np.float64)
                     for u in updates])
    sq = (flat * flat).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0)
    scores = [np.sort(np.delete(dist[i], i))[:n - f - 2].sum() for i in range(n)]
    best = np.argsort(scores, kind="stable")[:m]
    return {k: np.mean([updates[i][k] for i in best], axis=0).astype(np.float32) for k in names}


def global_norm(update):
    return float(np.sqrt(sum(float((v.astype(np.float64) ** 2).sum()) for v in update.values())))


def clip_by_norm(update, max_norm):
    """Scale the whole update down so its global L2 norm is at most max_norm."""
    norm = global_norm(update)
    if norm <= max_norm or norm == 0:
        return dict(update)
    scale = max_norm / norm
    return {k: (v * scale).astype(np.float32) for k, v in update.items()}


AGGREGATORS = {"mean": weighted_mean, "median": coordinate_median,
               "trimmed_mean": trimmed_mean, "krum": krum}


def aggregate(updates, weights, rule="mean", max_norm=None, **options):
    """Clip each update to max_norm (if given), then combine them with `rule`."""
    if rule not in AGGREGATORS:
        raise ValueError(f"unknown aggregation rule {rule!r}; choose from "
                         f"{', '.join(AGGREGATORS)}")
    if max_norm is not None:
        updates = [clip_by_norm(u, max_norm) for u in updates]
    return AGGREGATORS[rule](updates, weights, **options)
