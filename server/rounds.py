"""The rounds of the parameter server: assignments, deadlines, answers, the aggregation
call, versions and checkpoints.

Deadlines: an assignment has a hard deadline (`deadline_s`: the worker is dropped) and an
adaptive one, `deadline_factor` x the median time of the recent rounds but at least
`deadline_floor_s` (before any round finished: the hard one). Past the adaptive deadline
the samples go to the other workers and the late answer is ignored; the stall counts as
a rejected answer.

Answers are checked on arrival (round, version, batch size, tensor names and shapes) and
again, all together, once the round has all its samples (server/validation.py): an
answer rejected then gives its samples back to the pool and the round goes on. A worker
whose answers are rejected `max_rejections` times in a row is dropped and its host is
refused for the rest of the run.

`Rounds` is one of the three parts `server.orchestrator.Orchestrator` is made of (with
`server.session.Sessions` and `server.status.StatusPages`).
"""
import asyncio
import statistics
import time

import numpy as np

import distml
from distml.distributed import codec, strategy
from distml.distributed.experiment import float_buffers, load_state_arrays, state_arrays
from distml.distributed.protocol import BUFFER_PREFIX, TransportClosed
from distml._tensor import Tensor

CHECKPOINT_NAME = "checkpoint.safetensors"


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


class Assignment:
    def __init__(self, member, round_, seq, chunk, deadline, hard_deadline):
        self.member, self.round, self.seq = member, round_, seq
        self.chunk = chunk  # [(position in the round, sample id)]
        self.deadline = deadline  # adaptive: then the samples go to others
        self.allowed_s = deadline - time.monotonic()
        self.hard_deadline = hard_deadline  # then the worker is dropped

    @property
    def indices(self):
        return [s for _, s in self.chunk]


class Rounds:
    """One synchronous round after the other over the live workers."""

    def _requeue(self, assignment):
        cur = self._current
        if cur is not None and assignment.round == self.round:
            cur["pending"].extend(assignment.chunk)
            cur["pending"].sort()
            self.stats["reassigned_samples"] += len(assignment.chunk)

    def _reject(self, member, why, bad_update=True):
        """A bad answer: the assignment's samples go to the others in this round."""
        if member.assignment is not None:
            self._requeue(member.assignment)
            member.assignment = None
        self._count_rejection(member, why, bad_update)

    def _count_rejection(self, member, why, bad_update=True):
        """`max_rejections` in a row drop the worker; when they were all bad updates (not
        stalls or errors it reported) its host is refused for the rest of the run."""
        self.stats["rejected_updates"] += 1
        member.rejected += 1
        member.bad_updates = member.bad_updates + 1 if bad_update else 0
        self._log(f"worker {member.id}: update rejected: {why}")
        if self._current is not None:
            self._current["excluded"].add(member.id)
        if member.bad_updates >= self.hp["max_rejections"]:
            self.banned_hosts.add(member.peer.host)
            self._drop(member, f"{member.bad_updates} bad updates in a row; its address is "
                               f"refused for the rest of the run")
        elif member.rejected >= self.hp["max_rejections"]:
            self._drop(member, f"{member.rejected} answers in a row were rejected")
        self._changed.set()

    # -- gradients -----------------------------------------------------------------------
    async def _on_gradient(self, member, frame):
        f = frame.fields
        a = member.assignment
        if a is None or self._current is None or f["round"] != self.round:
            if f["round"] in member.late_rounds:  # taken back at the adaptive deadline
                member.late_rounds.discard(f["round"])
                self.stats["late_answers"] += 1
                await self._error(member.peer, f"round {f['round']}: too late, the samples "
                                               f"went to other workers", "late")
                return
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
        if "samples_per_s" in f:
            member.samples_per_s = float(f["samples_per_s"])
        cur = self._current
        cur["updates"].append({"member": member, "chunk": a.chunk, "first": a.chunk[0][0],
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

    def adaptive_deadline_s(self):
        """Seconds an assignment may take before its samples go to others: a multiple of
        the recent rounds' median time, at least the floor (the hard deadline before any
        round finished)."""
        hard = float(self.hp["deadline_s"])
        recent = [h["seconds"] for h in self.history[-10:]]
        if not recent or not self.deadline_factor:
            return hard
        return min(hard, max(self.deadline_floor_s,
                             self.deadline_factor * statistics.median(recent)))

    async def _send_assignment(self, member, chunk):
        member.seq += 1
        now = time.monotonic()
        a = Assignment(member, self.round, member.seq, chunk,
                       now + self.adaptive_deadline_s(), now + float(self.hp["deadline_s"]))
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
        # chunks of 2 samples at least (BatchNorm cannot train on one)
        chunks = split_evenly(cur["pending"], min(len(idle), max(1, len(cur["pending"]) // 2)))
        cur["pending"] = []
        for member, chunk in zip(idle, chunks):
            await self._send_assignment(member, chunk)

    def _expire(self):
        now = time.monotonic()
        for m in self.live():
            if m.assignment is not None and now > m.assignment.hard_deadline:
                self._drop(m, f"missed the round {self.round} deadline")
            elif m.assignment is not None and now > m.assignment.deadline:
                m.late_rounds = {r for r in m.late_rounds if r > self.round - 10}
                m.late_rounds.add(self.round)
                self.stats["taken_back"] += 1
                self._reject(m, f"no answer within the adaptive deadline "
                                f"({m.assignment.allowed_s:.1f} s); its samples go to others",
                             bad_update=False)
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
        statistics_now = self._current_statistics()
        try:
            await self._gather(cur, len(samples))
            while await self._screen(cur, statistics_now):  # some answers did not count
                await self._gather(cur, len(samples))
        finally:
            self._current = None
        for u in cur["updates"]:
            u["member"].rejected = u["member"].bad_updates = 0
            u["member"].updates += 1
            u["member"].samples += u["batch_size"]
        self.validator.accept(cur["updates"], statistics_now)
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

    async def _gather(self, cur, n_samples):
        """Assign the round's pending samples until answers cover all of them."""
        while cur["done"] < n_samples:
            self._changed.clear()
            await self._assign()
            if cur["done"] >= n_samples:
                break
            deadlines = [m.assignment.deadline for m in self.live() if m.assignment]
            timeout = min([d - time.monotonic() for d in deadlines] + [5.0])
            if timeout > 0 and not self._changed.is_set():
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout + 0.01)
                except asyncio.TimeoutError:
                    pass
            self._expire()
            if cur["pending"] and not any(m.id not in cur["excluded"] for m in self.ready()):
                cur["excluded"].clear()  # nobody else left: let them try again

    def _current_statistics(self):
        """The server's BatchNorm statistics (float64), which answers are compared with."""
        return {k: b.detach().numpy().astype(np.float64)
                for k, b in float_buffers(self.model).items()}

    async def _screen(self, cur, statistics_now):
        """Validate the round's answers together; the rejected ones give their samples
        back. Returns how many were rejected."""
        problems = self.validator.problems(cur["updates"], statistics_now,
                                           cur.setdefault("suspects", {}))
        for i in sorted(problems, reverse=True):
            u = cur["updates"].pop(i)
            cur["done"] -= u["batch_size"]
            cur["pending"] = sorted(cur["pending"] + u["chunk"])
            self.stats["reassigned_samples"] += u["batch_size"]
            await self._error(u["member"].peer, f"bad update: {problems[i]}", "bad_update")
            self._count_rejection(u["member"], problems[i])
        return len(problems)

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

    # -- checkpoints -----------------------------------------------------------------------
    def remove_leftover_temporaries(self):
        """Delete `checkpoint.safetensors.tmp<pid>` files a kill during a write left."""
        if self.checkpoint_dir is None or not self.checkpoint_dir.is_dir():
            return []
        leftovers = sorted(self.checkpoint_dir.glob(CHECKPOINT_NAME + ".tmp*"))
        for path in leftovers:
            path.unlink(missing_ok=True)
            self._log(f"removed a leftover temporary checkpoint: {path.name}")
        return leftovers

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
