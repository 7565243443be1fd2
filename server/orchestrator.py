"""The parameter server's orchestration: membership, rounds, deadlines, versions, checkpoints.

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
import hmac
import json
import math
import os
import secrets
import time
from pathlib import Path

import numpy as np

import distml
from distml.autograd import no_grad
from distml.distributed import codec, strategy
from distml.distributed.experiment import (
    float_buffers, hyperparameters, load_experiment, load_state_arrays, source_hash,
    state_arrays)
from distml.distributed.worker import BUFFER_PREFIX, TransportClosed
from distml.tensor import Tensor

from .progress import Progress, planned_samples, plural
from .static import WEB_DIR

CHECKPOINT_NAME = "checkpoint.safetensors"
MAX_BAD_FRAMES_BEFORE_HELLO = 64


def epoch_permutation(seed, epoch, n):
    """The sample order of an epoch: a pure function of (seed, epoch)."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n).tolist()


def split_evenly(items, parts):
    """`items` in `parts` contiguous chunks whose sizes differ by at most one."""
    base, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        size = base + (1 if i < extra else 0)
        out.append(items[start:start + size])
        start += size
    return out


class Member:
    """A connected worker."""

    def __init__(self, worker_id, peer, name, capabilities):
        self.id, self.peer, self.name, self.capabilities = worker_id, peer, name, capabilities
        self.version_sent = None  # version of the weights this worker holds
        self.assignment = None  # the outstanding Assignment, if any
        self.last_seen = self.joined = time.monotonic()
        self.alive = True
        self.seq = 0
        self.rejected = 0  # bad updates in a row
        self.samples_per_s = None  # as the worker measured its last assignment
        self.ready = False  # it has loaded the experiment and its data (a "ready" heartbeat)
        self.updates = self.samples = 0  # accepted answers and their samples


class Assignment:
    def __init__(self, member, round_, seq, chunk, deadline):
        self.member, self.round, self.seq = member, round_, seq
        self.chunk = chunk  # [(position in the round, sample id)]
        self.deadline = deadline

    @property
    def indices(self):
        return [s for _, s in self.chunk]


class Orchestrator:
    def __init__(self, experiment_path, token, aggregate="mean", max_grad_norm=None,
                 compression=None, checkpoint_dir=None, checkpoint_every=10, resume=False,
                 max_rounds=None, overrides=None, say=None, progress=True,
                 max_frame=64 << 20, heartbeat_s=5.0, heartbeat_timeout_s=60.0):
        self.source = Path(experiment_path).read_bytes()
        self.experiment_hash = source_hash(self.source)
        self.experiment = load_experiment(self.source, Path(experiment_path).stem)
        self.hp = hyperparameters(self.experiment, overrides)
        self.experiment.hyperparameters.update(self.hp)  # make_optimizer etc. see overrides
        if aggregate not in strategy.AGGREGATORS:
            raise ValueError(f"unknown aggregation rule {aggregate!r}")
        if compression not in (None, "none", "float16", "int8"):
            raise ValueError(f"unknown compression {compression!r}")
        self.token = token
        self.rule, self.max_grad_norm = aggregate, max_grad_norm
        self.compression = None if compression in (None, "none") else compression
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.checkpoint_every = checkpoint_every
        self.max_rounds, self.max_frame = max_rounds, max_frame
        self.heartbeat_s, self.heartbeat_timeout_s = heartbeat_s, heartbeat_timeout_s
        self.say = say or (lambda line: print(line, flush=True))
        self.progress = progress

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
                      "refused": 0, "dropped": 0}
        self.done = False
        self._view = None  # the terminal's progress (server/progress.py), made on first use
        self._started = False
        self._closing = set()
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

    def routes(self):
        """Extra HTTP routes: the experiment, the dashboard, the worker page, the status.
        A callable is asked on every request (the pages are read fresh from web/)."""
        web = WEB_DIR  # web/ in a checkout, distml/server/web installed
        html = "text/html; charset=utf-8"

        def page(name):
            return lambda: ((web / name).read_bytes(), html)

        return {"/experiment.py": (self.source, "text/plain; charset=utf-8"),
                "/": page("dashboard.html"), "/worker": page("join.html"),
                "/status.json": lambda: (json.dumps(self.status()).encode(),
                                         "application/json")}

    def samples_seen(self):
        return self.epoch * self.n_train + self.position

    def status(self, max_points=500):
        """A JSON-able snapshot for the dashboard: progress, workers, loss and accuracy."""
        now = time.monotonic()
        step = max(1, math.ceil(len(self.history) / max_points))  # thin long histories
        loss = [[h["seen"], h["loss"]] for h in self.history[::step] if h["loss"] is not None]
        if self.history and self.history[-1]["loss"] is not None and \
                (not loss or loss[-1][0] != self.history[-1]["seen"]):
            loss.append([self.history[-1]["seen"], self.history[-1]["loss"]])
        recent = [h for h in self.history if h["time"] > now - self.started_at - 10]
        rate = sum(h["samples"] for h in recent) / 10 if recent else 0.0
        return {
            "experiment": self.experiment.__name__, "mode": self.hp["mode"],
            "round": self.round, "version": self.version, "epoch": self.epoch + 1,
            "epochs": self.hp["epochs"], "position": self.position, "n_train": self.n_train,
            "samples_seen": self.samples_seen(), "max_samples": self.hp["max_samples"],
            "samples_per_s": rate, "elapsed_s": now - self.started_at, "done": self.done,
            "workers": [{"id": m.id, "name": m.name, "address": m.peer.address,
                         "browser": bool(m.capabilities.get("browser")),
                         "webgl": bool(m.capabilities.get("webgl")),
                         "samples_per_s": m.samples_per_s, "updates": m.updates,
                         "busy": m.assignment is not None, "ready": m.ready,
                         "last_seen_s": now - m.last_seen, "joined_s": now - m.joined}
                        for m in self.live()],
            "loss": loss, "accuracy": self.accuracy_samples,
            "last_loss": self.history[-1]["loss"] if self.history else None,
            "last_accuracy": self.accuracy_samples[-1][1] if self.accuracy_samples else None,
            "stats": dict(self.stats)}

    # -- connections ---------------------------------------------------------------------
    async def _error(self, peer, message, code):
        try:
            await peer.send(codec.encode("error", {"message": message, "code": code}))
        except (TransportClosed, OSError):
            pass

    def _log(self, line):
        with self._progress_view().external_write():  # above the bar, not through it
            self.say(line)

    def _progress_view(self):
        if self._view is None:
            self._view = Progress(planned_samples(self.hp, self.n_train, self.max_rounds),
                                  epochs=self.hp["epochs"], enabled=self.progress)
        return self._view

    async def handle(self, peer):
        """One worker connection, from hello to bye."""
        member = None
        try:
            member = await self._handshake(peer)
            if member is None:
                return
            while member.alive:
                data = await peer.recv()
                member.last_seen = time.monotonic()
                try:
                    frame = codec.decode(data, max_size=self.max_frame)
                except codec.FrameError as e:
                    self.stats["bad_frames"] += 1
                    self._log(f"worker {member.id}: bad frame: {e}")
                    await self._error(peer, f"bad frame: {e}", "bad_frame")
                    if member.assignment is not None:
                        self._reject(member, "its answer was a malformed frame")
                    continue
                if frame.type == "gradient":
                    await self._on_gradient(member, frame)
                elif frame.type == "heartbeat":
                    if frame.fields.get("state") == "ready" and not member.ready:
                        member.ready = True  # assignments may go to it from now on
                        self._changed.set()
                    await peer.send(codec.encode("heartbeat", {"time": time.time()}))
                elif frame.type == "bye":
                    self._drop(member, f"said bye ({frame.fields.get('reason', '')})",
                               close=False)
                elif frame.type == "error":
                    self._log(f"worker {member.id} reports: {frame.fields['message']}")
                    if member.assignment is not None:  # it will not answer this one
                        self._reject(member, "the worker reported an error")
                else:
                    await self._error(peer, f"unexpected {frame.type} message", "unexpected")
        except TransportClosed:
            pass
        finally:
            if member is not None and member.alive:
                self._drop(member, "disconnected", close=False)

    async def _handshake(self, peer):
        for _ in range(MAX_BAD_FRAMES_BEFORE_HELLO):
            try:
                data = await asyncio.wait_for(peer.recv(), 30)
            except asyncio.TimeoutError:
                await self._error(peer, "no hello within 30 s", "timeout")
                await peer.close(1008, "no hello")
                return None
            try:
                frame = codec.decode(data, max_size=self.max_frame)
            except codec.FrameError as e:
                self.stats["bad_frames"] += 1
                self._log(f"{peer.address}: bad frame before hello: {e}")
                await self._error(peer, f"bad frame: {e}", "bad_frame")
                continue
            if frame.type != "hello":
                await self._error(peer, f"expected hello, got {frame.type}", "unexpected")
                continue
            f = frame.fields
            if not hmac.compare_digest(f["token"].encode(), self.token.encode()):
                self.stats["refused"] += 1
                self._log(f"{peer.address}: refused (wrong token)")
                await self._error(peer, "wrong token", "auth")
                await peer.close(1008, "wrong token")
                return None
            if f["protocol"] != codec.PROTOCOL_VERSION:
                await self._error(peer, f"protocol {f['protocol']} is not supported "
                                        f"(server speaks {codec.PROTOCOL_VERSION})", "protocol")
                await peer.close(1008, "protocol")
                return None
            if self.done:
                await peer.send(codec.encode("bye", {"reason": "training finished"}))
                await peer.close()
                return None
            self._next_id += 1
            member = Member(f"w{self._next_id}", peer, f.get("name"), f["capabilities"])
            await peer.send(codec.encode("welcome", {
                "worker_id": member.id, "experiment": self.experiment_hash,
                "hyperparameters": self.worker_hyperparameters(), "version": self.version}))
            self.members[member.id] = member
            self._log(f"worker {member.id} joined from {peer.address} "
                      f"({len(self.live())} connected)")
            self._changed.set()
            return member
        await self._error(peer, "too many bad frames", "bad_frame")
        await peer.close(1008, "too many bad frames")
        return None

    def live(self):
        return [m for m in self.members.values() if m.alive]

    def ready(self):
        """The live workers that finished loading (a browser may take a while)."""
        return [m for m in self.live() if m.ready]

    def _drop(self, member, reason, close=True):
        """Remove a worker; its outstanding samples go back to the round's pool."""
        if not member.alive:
            return
        member.alive = False
        self.members.pop(member.id, None)
        self.stats["dropped"] += 1
        if member.assignment is not None:
            self._requeue(member.assignment)
            member.assignment = None
        self._log(f"worker {member.id} left: {reason} ({len(self.live())} connected)")
        if close:
            task = asyncio.get_running_loop().create_task(self._close_peer(member.peer, reason))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._changed.set()

    async def _close_peer(self, peer, reason):
        try:
            await asyncio.wait_for(peer.send(codec.encode("bye", {"reason": reason})), 2)
            await asyncio.wait_for(peer.close(1000, reason), 5)
        except (TransportClosed, OSError, asyncio.TimeoutError):
            peer.abort()

    def _requeue(self, assignment):
        cur = self._current
        if cur is not None and assignment.round == self.round:
            cur["pending"].extend(assignment.chunk)
            cur["pending"].sort()
            self.stats["reassigned_samples"] += len(assignment.chunk)

    def _reject(self, member, why):
        """A bad answer: the assignment's samples go to the others in this round."""
        self.stats["rejected_updates"] += 1
        member.rejected += 1
        self._log(f"worker {member.id}: update rejected: {why}")
        if member.assignment is not None:
            self._requeue(member.assignment)
            member.assignment = None
            if self._current is not None:
                self._current["excluded"].add(member.id)
        if member.rejected >= self.hp["max_rejections"]:
            self._drop(member, f"{member.rejected} updates in a row were rejected")
        self._changed.set()

    # -- gradients -----------------------------------------------------------------------
    async def _on_gradient(self, member, frame):
        f = frame.fields
        a = member.assignment
        if a is None or self._current is None or f["round"] != self.round:
            self.stats["rejected_updates"] += 1
            await self._error(member.peer, f"no outstanding assignment for round {f['round']} "
                                           f"(a late or repeated answer)", "unexpected")
            return
        if f["version"] != self.version:
            await self._error(member.peer, f"stale version {f['version']}: the round is at "
                                           f"version {self.version}", "stale")
            self._reject(member, f"stale version {f['version']} (current {self.version})")
            return
        problem = self._check_update(frame, len(a.chunk))
        if problem:
            await self._error(member.peer, f"bad update: {problem}", "bad_update")
            self._reject(member, problem)
            return
        grads = {k: frame.values(k) for k in self.param_shapes}
        buffers = {k[len(BUFFER_PREFIX):]: frame.values(k) for k in self.buffer_shapes}
        member.assignment = None
        member.rejected = 0
        member.updates += 1
        member.samples += len(a.chunk)
        if "samples_per_s" in f:
            member.samples_per_s = float(f["samples_per_s"])
        cur = self._current
        cur["updates"].append({"key": (member.id, a.round, a.seq), "first": a.chunk[0][0],
                               "grads": grads, "buffers": buffers,
                               "batch_size": len(a.chunk), "loss": f.get("loss")})
        cur["done"] += len(a.chunk)
        self._changed.set()

    def _check_update(self, frame, batch_size):
        f = frame.fields
        if f["batch_size"] != batch_size:
            return f"batch_size {f['batch_size']}, assigned {batch_size}"
        expected = dict(self.param_shapes, **self.buffer_shapes)
        got = {k: v[0] for k, v in frame.tensors.items()}
        if set(got) != set(expected):
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            return f"tensors differ from the model's (missing {missing}, unexpected {extra})"
        for k, shape in expected.items():
            if got[k] != shape:
                return f"tensor {k!r} has shape {list(got[k])}, expected {list(shape)}"
            if frame.tensors[k][1] == "I64":
                return f"tensor {k!r} is int64"
        return None

    # -- rounds ----------------------------------------------------------------------------
    def _weight_tensors(self):
        if self._weights is None or self._weights[0] != self.version:
            arrays = state_arrays(self.model)
            self._weights = (self.version, [(k, v.shape, v) for k, v in arrays.items()])
        return self._weights[1]

    async def _send_assignment(self, member, chunk):
        member.seq += 1
        a = Assignment(member, self.round, member.seq, chunk,
                       time.monotonic() + float(self.hp["deadline_s"]))
        member.assignment = a
        local = self.hp["mode"] == "local_sgd"
        # in local SGD the worker's weights moved since we sent them: always resend
        stale = local or member.version_sent != self.version
        fields = {"round": self.round, "version": self.version, "indices": a.indices,
                  "batch_size": len(chunk), "deadline_s": float(self.hp["deadline_s"]),
                  "kind": "local_sgd" if local else "gradient"}
        if local:
            fields["local_steps"] = self._local_steps(len(chunk))
        data = codec.encode("round", fields, self._weight_tensors() if stale else None)
        try:
            await member.peer.send(data)
            member.version_sent = self.version
        except (TransportClosed, OSError):
            self._drop(member, "connection lost while sending", close=False)

    async def _assign(self):
        cur = self._current
        if not cur["pending"]:
            return
        idle = [m for m in self.ready()
                if m.assignment is None and m.id not in cur["excluded"]]
        if not idle:
            return
        chunks = split_evenly(cur["pending"], min(len(idle), len(cur["pending"])))
        cur["pending"] = []
        for member, chunk in zip(idle, chunks):
            await self._send_assignment(member, chunk)

    def _expire(self):
        now = time.monotonic()
        for m in self.live():
            if m.assignment is not None and now > m.assignment.deadline:
                self._drop(m, f"missed the round {self.round} deadline")
            elif m.ready and m.assignment is None and \
                    now - m.last_seen > self.heartbeat_timeout_s:
                # (a worker still loading cannot beat; the websocket's pings watch it)
                self._drop(m, "no heartbeat")

    async def wait_for_workers(self, n):
        while len(self.ready()) < n:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 5)
            except asyncio.TimeoutError:
                pass

    def _local_steps(self, n):
        """Local SGD steps for n samples: one per `local_batch` (rounded up)."""
        return min(self.hp["local_steps"], -(-n // self.hp["local_batch"]))

    def _round_samples(self, perm):
        left = self.n_train - self.position
        if self.hp["mode"] == "fixed_global":
            take = self.hp["global_batch"]
        elif self.hp["mode"] == "fixed_local":
            take = self.hp["local_batch"] * max(1, len(self.ready()))
        else:
            take = self.hp["local_batch"] * self.hp["local_steps"] * max(1, len(self.ready()))
        take = min(take, left)
        if self.hp["max_samples"]:
            take = min(take, self.hp["max_samples"] - self.samples_seen())
        return perm[self.position:self.position + take]

    async def run_round(self, perm):
        # min_workers gates the start of training; after that any live worker will do
        await self.wait_for_workers(1 if self._started else self.hp["min_workers"])
        self._started = True
        samples = self._round_samples(perm)
        self.round += 1
        cur = self._current = {"pending": list(enumerate(samples)), "updates": [], "done": 0,
                               "excluded": set()}
        started = time.monotonic()
        try:
            while cur["done"] < len(samples):
                self._changed.clear()
                await self._assign()
                if cur["done"] >= len(samples):
                    break
                deadlines = [m.assignment.deadline for m in self.live() if m.assignment]
                timeout = min([d - time.monotonic() for d in deadlines] + [5.0])
                if timeout > 0 and not self._changed.is_set():
                    try:
                        await asyncio.wait_for(self._changed.wait(), timeout + 0.01)
                    except asyncio.TimeoutError:
                        pass
                self._expire()
                if cur["pending"] and not any(m.id not in cur["excluded"]
                                              for m in self.ready()):
                    cur["excluded"].clear()  # nobody else left: let them try again
        finally:
            self._current = None
        self._apply(cur["updates"])
        self.position += len(samples)
        losses = [(u["loss"], u["batch_size"]) for u in cur["updates"] if u["loss"] is not None]
        loss = sum(v * n for v, n in losses) / sum(n for _, n in losses) if losses else None
        self.history.append({"round": self.round, "version": self.version,
                             "samples": len(samples), "loss": loss,
                             "workers": len(cur["updates"]),
                             "seconds": time.monotonic() - started,
                             "seen": self.samples_seen(),
                             "time": time.monotonic() - self.started_at})
        return loss

    def _combine(self, updates, sizes, max_norm):
        try:
            return strategy.aggregate(updates, sizes, rule=self.rule, max_norm=max_norm)
        except ValueError as e:  # e.g. krum with too few workers this round
            self._log(f"round {self.round}: {self.rule} cannot combine {len(updates)} "
                      f"updates ({e}); using the coordinate median")
            return strategy.aggregate(updates, sizes, rule="median", max_norm=max_norm)

    def _apply(self, updates):
        updates = sorted(updates, key=lambda u: u["first"])
        sizes = [u["batch_size"] for u in updates]
        combined = self._combine([u["grads"] for u in updates], sizes, self.max_grad_norm)
        local = self.hp["mode"] == "local_sgd"
        if not local:
            for name, p in self.model.named_parameters():
                p.grad = Tensor(combined[name])
            self.optimizer.step()
            self.optimizer.zero_grad()
            if self.scheduler is not None:
                self.scheduler.step()
        if local or self.buffer_shapes:
            arrays = state_arrays(self.model)
            if local:  # the mean of the workers' weights = ours + the mean change
                for k, delta in combined.items():
                    arrays[k] = (arrays[k] + delta).astype(arrays[k].dtype)
            if self.buffer_shapes:  # running statistics: the same rule, never clipped
                arrays.update(self._combine([u["buffers"] for u in updates], sizes, None))
                steps = self._local_steps(max(sizes)) if local else 1
                for k in arrays:
                    if k.endswith("num_batches_tracked"):
                        arrays[k] = arrays[k] + steps
            load_state_arrays(self.model, arrays)
        self.version += 1

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

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint_path(self):
        return self.checkpoint_dir / CHECKPOINT_NAME if self.checkpoint_dir else None

    def save_checkpoint(self):
        if self.checkpoint_dir is None:
            return None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "round": self.round, "version": self.version, "epoch": self.epoch,
                 "position": self.position, "rng": distml.get_rng_state(),
                 "seed": self.hp["seed"], "experiment_sha256": self.experiment_hash}
        distml.save(state, self.checkpoint_path())
        return self.checkpoint_path()

    def load_checkpoint(self):
        path = self.checkpoint_path()
        if path is None or not path.is_file():
            self._log(f"resume: no checkpoint at {path}; starting from scratch")
            return False
        state = distml.load(path)
        if state["experiment_sha256"] != self.experiment_hash:
            self._log("resume: warning: the experiment file changed since the checkpoint")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.round, self.version = int(state["round"]), int(state["version"])
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        distml.set_rng_state(state["rng"])
        if self.scheduler is not None:  # stepped once per applied round
            self.scheduler.step(self.version)
        self._log(f"resumed from {path} at round {self.round} (epoch {self.epoch + 1}, "
                  f"sample {self.position}/{self.n_train})")
        return True

    # -- the training loop -----------------------------------------------------------------
    def _progress(self, loss):
        self._progress_view().update(self.samples_seen(), self.epoch + 1, self.round, loss,
                                     len(self.live()))

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
