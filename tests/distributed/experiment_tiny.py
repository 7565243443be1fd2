"""A tiny experiment for the distributed tests: an MLP on a synthetic 3-class problem.

The data is a fixed function of the seeds below (pure Python, no numpy: the file also
runs in a worker without numpy, as in the browser), so the server and every worker that
imports it build the same dataset, bit for bit.
"""
import random

import distml
import distml.nn as nn
import distml.nn.functional as F
from distml.utils.data import TensorDataset

hyperparameters = {
    "seed": 0,
    "mode": "fixed_global",
    "global_batch": 24,
    "local_batch": 8,
    "epochs": 2,
    "lr": 0.2,
    "momentum": 0.9,
    "deadline_s": 20.0,
    "min_workers": 1,
}

N_TRAIN, N_TEST, N_FEATURES, N_CLASSES = 96, 64, 8, 3


def _data(train):
    rng = random.Random(1234)
    teacher = [[rng.gauss(0, 1) for _ in range(N_CLASSES)] for _ in range(N_FEATURES)]
    rng = random.Random(1 if train else 2)
    x = [[rng.gauss(0, 1) for _ in range(N_FEATURES)] for _ in range(N_TRAIN if train else N_TEST)]
    scores = [[sum(row[i] * teacher[i][c] for i in range(N_FEATURES)) for c in range(N_CLASSES)]
              for row in x]
    y = [max(range(N_CLASSES), key=s.__getitem__) for s in scores]
    return x, y


def make_model():
    return nn.Sequential(nn.Linear(N_FEATURES, 16), nn.ReLU(), nn.Linear(16, N_CLASSES))


def make_dataset(train):
    x, y = _data(train)
    return TensorDataset(distml.tensor(x), distml.tensor(y))


def loss_fn(output, target):
    return F.cross_entropy(output, target)


def make_optimizer(params):
    return distml.optim.SGD(params, lr=hyperparameters["lr"],
                            momentum=hyperparameters["momentum"])
