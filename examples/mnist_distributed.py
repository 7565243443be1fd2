"""MNIST across workers: an experiment file for the parameter server (and `bash run.sh demo`).

    python -m server examples/mnist_distributed.py --port 8000 --workers-token T
    python -m distml.distributed.worker ws://127.0.0.1:8000/ws --token T    # one per worker
    # or open http://127.0.0.1:8000/worker?token=T in a browser tab

The model is written once, here: the server imports this file to hold the model and the
optimizer and serves it at /experiment.py; every worker imports the same file to build the
same model and the same training set, then computes gradients on the samples each round
assigns it. Synchronous data-parallel SGD: one optimizer step per round, on the server.

Chosen to pass 98 % test accuracy (full 10k test set) in few samples, since a browser
worker on a software GPU trains only tens of samples a second: two 5x5 stride-2 convs with
BatchNorm, Adam with a linear decay to zero over `max_samples` (25,600 of the 60,000
training images, 800 rounds of 32). With two CPython workers (`--max-samples N` moves
the end of the decay too): 97.81 % after 16,000 samples, 98.02 % after 20,000, 98.26 %
after 25,600; the same 25,600 with two headless Chromium workers on WebGL: 98.27 %.
"""
import distml
import distml.nn as nn
import distml.nn.functional as F
from distml.datasets import MNIST
from distml.utils.data import Subset
from distml.web import fetch_mnist

hyperparameters = {
    "seed": 0,
    "mode": "fixed_global",  # or "fixed_local" (local_batch per worker) or "local_sgd"
    "global_batch": 32,
    "local_batch": 32,
    "local_steps": 4,  # local_sgd only
    "epochs": 1,
    "max_samples": 25600,  # stop here (0: all the epochs)
    "eval_every": 200,  # rounds between test evaluations (the dashboard's accuracy curve)
    "lr": 0.003,
    "deadline_s": 120.0,  # per assignment; a worker that misses it is dropped
    "min_workers": 1,  # wait for this many workers before the first round
    "limit": 0,  # train on the first N images (0: all 60,000)
}

# where the workers compute: a browser tab with WebGL2 uses it; CPython (and the server)
# have no WebGL, so "cpu" there
device = "webgl" if distml.webgl.is_available() else "cpu"

MEAN, STD = 0.1307, 0.3081


def normalize(x):
    return (x - MEAN) / STD


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, stride=2, padding=2), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 5, stride=2, padding=2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def make_dataset(train):
    fetch_mnist()  # in a browser: the server's /data/mnist/ files; on CPython a no-op
    data = MNIST(train=train, transform=normalize)
    limit = hyperparameters["limit"]
    return Subset(data, range(limit)) if train and limit else data


def loss_fn(output, target):
    return F.cross_entropy(output, target)


def make_optimizer(params):
    return distml.optim.Adam(params, lr=hyperparameters["lr"])


def make_scheduler(optimizer):
    # stepped by the server once per round: linear decay to zero at max_samples
    rounds = max(1, hyperparameters["max_samples"] // hyperparameters["global_batch"])
    return distml.optim.lr_scheduler.LambdaLR(optimizer, lambda r: max(0.0, 1 - r / rounds))
