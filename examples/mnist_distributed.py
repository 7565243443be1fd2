"""MNIST across workers: an experiment file for the parameter server.

    python -m server examples/mnist_distributed.py --port 8000 --workers-token T
    python -m distml.distributed.worker ws://127.0.0.1:8000/ws --token T    # one per worker

The model is written once, here: the server imports this file to hold the model and the
optimizer and serves it at /experiment.py; every worker imports the same file to build the
same model and the same training set, then computes gradients on the samples each round
assigns it. Synchronous data-parallel SGD: one optimizer step per round, on the server.
"""
import distml
import distml.nn as nn
import distml.nn.functional as F
from distml.datasets import MNIST
from distml.utils.data import Subset

hyperparameters = {
    "seed": 0,
    "mode": "fixed_global",  # or "fixed_local": local_batch per worker
    "global_batch": 64,
    "local_batch": 32,
    "epochs": 1,
    "lr": 0.05,
    "momentum": 0.9,
    "deadline_s": 60.0,  # per assignment; a worker that misses it is dropped
    "min_workers": 1,  # wait for this many workers before the first round
    "limit": 12000,  # train on the first N images (0: all 60,000)
}

MEAN, STD = 0.1307, 0.3081


def normalize(x):
    return (x - MEAN) / STD


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def make_dataset(train):
    data = MNIST(train=train, transform=normalize)
    limit = hyperparameters["limit"]
    return Subset(data, range(limit)) if train and limit else data


def loss_fn(output, target):
    return F.cross_entropy(output, target)


def make_optimizer(params):
    return distml.optim.SGD(params, lr=hyperparameters["lr"],
                            momentum=hyperparameters["momentum"], nesterov=True)
