"""The parameter server's orchestration: the experiment, the model and the training loop.

`Orchestrator` is made of three parts, one file each (Flower's split of transport,
strategy and orchestration, one level down):

    server/session.py   connections: hello, authentication, per-connection state (Member)
    server/rounds.py    rounds: assignments, deadlines, answers, aggregation, versions,
                        checkpoints
    server/status.py    what the dashboard shows (/status.json) and the HTTP routes

This file holds the settings they share, evaluation, the console output (log lines and
the progress bar, one block) and `run()`.

Synchronous data-parallel SGD. The server holds the model and the optimizer (numpy
backend). Every round takes the next samples of the epoch's permutation (a pure function
of the seed and the epoch) and splits them over the live workers:

    fixed_global   the round's batch is `global_batch`, split evenly over the workers
    fixed_local    every worker gets `local_batch`, so the global batch grows with workers
    local_sgd      every worker gets `local_steps * local_batch` samples and takes
                   `local_steps` steps with its own optimizer; the server averages the
                   weights (local SGD / FedAvg)

Workers answer the gradient of the mean loss over their samples; the server combines them
with `distml.distributed.strategy.aggregate` (weighted by batch size for "mean": exactly
the gradient of the global batch; a robust rule that cannot run with this round's number
of answers falls back to the median), combines the BatchNorm running statistics with the
same rule (unclipped), takes ONE optimizer step (and the experiment's scheduler step, if
it has `make_scheduler`) and bumps the version. In local SGD the answers are weight
changes, combined the same way and added to the weights (no server optimizer). Weights
go out with a worker's assignment whenever its version is stale (in local SGD always: a
worker's own weights moved since).

`status()` is what the dashboard (`/`, polling `/status.json`) shows.

Faults: an assignment is keyed by (worker, round, seq) and accepted at most once (a
second answer is refused). A worker that disconnects, misses its deadline or sends a bad
update (stale version, wrong tensors, NaN, a malformed frame) loses its assignment, whose
samples go to the other workers within the same round, so the round's gradient is the one
the no-fault run would have computed. A dead or stalled worker is also dropped; one that
sent a bad update is answered with an `error` and kept for later rounds. Nothing from a
rejected frame ever reaches the weights.

Checkpoints (every `checkpoint_every` rounds, `distml.save`, atomic): model, optimizer
state, round, version, epoch, position in the epoch, RNG state. `resume=True` continues
from the last one.
"""
import asyncio
import math
import os
import secrets
import time
from pathlib import Path

import distml
from distml.autograd import no_grad
from distml.distributed import codec, strategy
from distml.distributed.experiment import (
    float_buffers, hyperparameters, load_experiment, source_hash)
from distml.distributed.protocol import BUFFER_PREFIX, DEFAULT_MAX_SIZE

from .rounds import (  # noqa: F401 (re-exported)
    CHECKPOINT_NAME, Assignment, Rounds, epoch_permutation, split_evenly)
from .session import LoginThrottle, Member, Sessions  # noqa: F401 (re-exported)
from .progress import Progress, planned_samples, plural
from .status import StatusPages
from .validation import UpdateValidator


class Orchestrator(Sessions, Rounds, StatusPages):
    def __init__(self, experiment_path, token, aggregate="mean", max_grad_norm=None,
                 compression=None, checkpoint_dir=None, checkpoint_every=10, resume=False,
                 max_rounds=None, overrides=None, say=None, progress=True,
                 max_frame=DEFAULT_MAX_SIZE, heartbeat_s=5.0, heartbeat_timeout_s=60.0,
                 view_token=None, hello_timeout_s=30.0, login_delay_s=1.0,
                 max_norm_ratio=50.0, deadline_factor=3.0, deadline_floor_s=10.0):
        self.source = Path(experiment_path).read_bytes()
        self.experiment_hash = source_hash(self.source)
        self.experiment = load_experiment(self.source, Path(experiment_path).stem)
        self.hp = hyperparameters(self.experiment, overrides)
        self.experiment.hyperparameters.update(self.hp)  # make_optimizer etc. see overrides
        if aggregate not in strategy.AGGREGATORS:
            raise ValueError(f"unknown aggregation rule {aggregate!r}")
        compression = codec.parse_compression(compression)  # ValueError naming it
        if not token:
            raise ValueError("the workers' token must not be empty")
        self.token, self.view_token = token, view_token
        self.rule, self.max_grad_norm = aggregate, max_grad_norm
        self.compression = compression
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.checkpoint_every = checkpoint_every
        self.max_rounds, self.max_frame = max_rounds, max_frame
        self.heartbeat_s, self.heartbeat_timeout_s = heartbeat_s, heartbeat_timeout_s
        self.say = say or (lambda line: print(line, flush=True))
        self.progress = progress
        self.hello_timeout_s = hello_timeout_s
        self.throttle = LoginThrottle(base_s=login_delay_s)
        self.banned_hosts = set()  # hosts whose worker was dropped for bad updates
        self.validator = UpdateValidator(max_ratio=max_norm_ratio)
        self.deadline_factor, self.deadline_floor_s = deadline_factor, deadline_floor_s

        distml.manual_seed(self.hp["seed"])
        self.model = self.experiment.make_model()
        self.optimizer = self.experiment.make_optimizer(self.model.parameters())
        make_scheduler = getattr(self.experiment, "make_scheduler", None)
        self.scheduler = make_scheduler(self.optimizer) if make_scheduler else None
        self.train_set = self.experiment.make_dataset(True)
        self.test_set = None  # built on first evaluation
        self.n_train = len(self.train_set)
        self.param_shapes = {k: tuple(p.shape) for k, p in self.model.named_parameters()}
        self.buffer_shapes = {BUFFER_PREFIX + k: tuple(b.shape)
                              for k, b in float_buffers(self.model).items()}

        self.round = self.version = self.epoch = self.position = 0
        self.members = {}
        self._next_id = 0
        self._changed = asyncio.Event()
        self._current = None  # the open round's state
        self._weights = None  # (version, [(name, shape, array)])
        self.history = []  # one dict per round: round, version, samples, loss, workers
        self.accuracy = []  # (epoch, test accuracy)
        self.accuracy_samples = []  # (training samples seen, test accuracy), for the plot
        self.started_at = time.monotonic()
        self.stats = {"reassigned_samples": 0, "rejected_updates": 0, "bad_frames": 0,
                      "refused": 0, "dropped": 0, "hello_timeouts": 0, "taken_back": 0,
                      "late_answers": 0}
        self.done = False
        self._view = None  # the terminal's progress (server/progress.py), made on first use
        self._started = False
        self._closing = set()
        self.remove_leftover_temporaries()
        if resume:
            self.load_checkpoint()

    # -- public hyperparameters as the workers see them --------------------------------
    def worker_hyperparameters(self):
        hp = {k: v for k, v in self.hp.items()
              if isinstance(v, (int, float, str, bool)) and not
              (isinstance(v, float) and not math.isfinite(v))}
        hp["compression"] = self.compression or "none"
        hp["heartbeat_s"] = self.heartbeat_s
        if self.compression is None:
            hp.pop("compression")
        return hp

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, batch=256):
        if self.test_set is None:
            self.test_set = self.experiment.make_dataset(False)
        self.model.eval()
        correct = 0
        n = len(self.test_set)
        with no_grad():
            for start in range(0, n, batch):
                x, y = self.test_set.get_batch(list(range(start, min(n, start + batch))))
                correct += int((self.model(x).argmax(dim=1) == y).sum().item())
        self.model.train()
        return correct / n if n else float("nan")

    # -- the console: log lines and the progress bar (server/progress.py) ------------------
    def _log(self, line):
        with self._progress_view().external_write():  # above the bar, not through it
            self.say(line)

    def _progress_view(self):
        if self._view is None:
            self._view = Progress(planned_samples(self.hp, self.n_train, self.max_rounds),
                                  epochs=self.hp["epochs"], enabled=self.progress)
        return self._view

    def _progress(self, loss):
        self._progress_view().update(self.samples_seen(), self.epoch + 1, self.round, loss,
                                     len(self.live()))

    # -- the training loop -----------------------------------------------------------------
    def _finished(self):
        if self.hp["max_samples"] and self.samples_seen() >= self.hp["max_samples"]:
            return True
        return self.max_rounds is not None and self.round >= self.max_rounds

    def _evaluate(self):
        acc = self.evaluate()
        self.accuracy_samples.append([self.samples_seen(), acc])
        return acc

    async def run(self):
        """Train until the epochs (or max_rounds) are done; then say bye to everyone."""
        try:
            while self.epoch < self.hp["epochs"] and not self._finished():
                perm = epoch_permutation(self.hp["seed"], self.epoch, self.n_train)
                while self.position < self.n_train and not self._finished():
                    loss = await self.run_round(perm)
                    self._progress(loss)
                    every = self.hp["eval_every"]
                    if every and self.round % every == 0 and self.position < self.n_train \
                            and not self._finished():
                        acc = self._evaluate()
                        self._log(f"round {self.round}: test accuracy {acc * 100:.2f}% "
                                  f"({self.samples_seen()} samples)")
                    if self.checkpoint_every and self.round % self.checkpoint_every == 0:
                        self.save_checkpoint()
                if self.position >= self.n_train:
                    acc = self._evaluate()
                    self.accuracy.append((self.epoch + 1, acc))
                    self._log(f"epoch {self.epoch + 1}: test accuracy {acc * 100:.2f}% "
                              f"(round {self.round}, {plural(len(self.live()), 'worker')})")
                    self.epoch += 1
                    self.position = 0
            self._progress_view().close()
            if self.position > 0:  # the planned end within an epoch (max_rounds, max_samples)
                acc = self._evaluate()
                self.accuracy.append((self.epoch + self.position / self.n_train, acc))
                self._log(f"finished: {self.samples_seen():,} samples in "
                          f"{plural(self.round, 'round')}: test accuracy {acc * 100:.2f}%")
            self.save_checkpoint()
            self._log(f"training finished at round {self.round}")
        finally:
            self._progress_view().close()
            self.done = True
            for m in self.live():
                self._drop(m, "training finished")
            if self._closing:
                await asyncio.wait(list(self._closing), timeout=10)
        return self.history


def default_token():
    return os.environ.get("DISTML_TOKEN") or secrets.token_urlsafe(12)
