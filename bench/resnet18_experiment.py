"""The ResNet-18 experiment of the distributed benchmark (bench/distributed_bench.py
--model resnet18): torchvision's ResNet-18 with the CIFAR stem (3x3 conv, no max pool),
10 classes, on synthetic CIFAR-shaped data (32x32x3).

The data is a fixed function of the seeds (pure Python, so the browser worker builds it
too, and every process builds the same): each class has its own fixed pattern, each
image is its class's pattern plus uniform noise, so the loss can fall. Throughput is
what the benchmark measures; 11.2 M parameters make each round carry ~45 MB of float32
weights down and ~45 MB of gradient up per worker.
"""
import random

import distml
import distml.nn.functional as F
from distml.models import resnet18
from distml.utils.data import TensorDataset

hyperparameters = {
    "seed": 0,
    "mode": "fixed_global",
    "global_batch": 32,
    "local_batch": 32,
    "epochs": 1000,
    "lr": 0.05,
    "momentum": 0.9,
    "deadline_s": 600.0,
    "min_workers": 1,
}

device = "webgl" if distml.webgl.is_available() else "cpu"

N_TRAIN, N_TEST, N_CLASSES, SIDE = 512, 32, 10, 32
PIXELS = 3 * SIDE * SIDE


def _data(train):
    rng = random.Random(1234)
    patterns = [[rng.random() - 0.5 for _ in range(PIXELS)] for _ in range(N_CLASSES)]
    rng = random.Random(1 if train else 2)
    n = N_TRAIN if train else N_TEST
    y = [rng.randrange(N_CLASSES) for _ in range(n)]
    x = []
    for label in y:
        pattern = patterns[label]
        x.extend(p + rng.random() - 0.5 for p in pattern)
    return x, y


def make_model():
    return resnet18(num_classes=N_CLASSES, stem="cifar")


def make_dataset(train):
    x, y = _data(train)
    return TensorDataset(distml.tensor(x).reshape(len(y), 3, SIDE, SIDE), distml.tensor(y))


def loss_fn(output, target):
    return F.cross_entropy(output, target)


def make_optimizer(params):
    return distml.optim.SGD(params, lr=hyperparameters["lr"],
                            momentum=hyperparameters["momentum"])
