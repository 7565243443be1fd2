"""The coordinator: the model, the optimizer and the rounds over gateways.

`Coordinator` is the single server's `Orchestrator` (the same epochs, sample order,
evaluation, scheduler, checkpoints and `--resume`) whose `run_round` asks gateways instead
of workers: it splits the round's samples over the gateways in proportion to their ready
workers, sends each its sub-range with the current weights' object-store reference
(`ray.put` once per version), adds the gateways' weighted sums and divides by the sample
count (the flat mean), and applies the step with the single server's `_apply`. A gateway
that dies (or has no worker left) during a round gives its whole sub-range back, and the
sub-range goes to the surviving gateways within the same round: no step is lost and none
is taken on fewer samples.

Only the mean is hierarchical (a sum of sums); robust rules, per-worker clipping and local
SGD need every worker's update in one place and stay on the single server.

`CoordinatorActor` is the Ray actor around it. Restarted by Ray after a crash
(`max_restarts`), it resumes from its last checkpoint like `--resume`.

The dashboard: the coordinator polls each gateway's snapshot (its workers' rows, as the
single server's status has them) before each round, and serves the single server's
dashboard (web/dashboard.html, /status.json behind the token) on its own HTTP port
(`CoordinatorActor.start_dashboard`; no websocket: workers join a gateway). Its status is
the single server's plus `gateways`: per gateway its URL, whether it answered the last
poll, its workers (each row also in `workers`, with its gateway's index), their summed
samples/s, the samples it answered, its failures (a round call that raised, or a poll
without an answer) and its restarts (Ray restarted the actor: a new pid).
"""
import asyncio
import secrets
import time
import warnings

import numpy as np

from distml.distributed.experiment import state_arrays

from ..orchestrator import Orchestrator
from .gateway import local_copy


def split_by_weight(items, weights):
    """`items` in contiguous chunks proportional to `weights` (largest remainders)."""
    total = sum(weights)
    exact = [len(items) * w / total for w in weights]
    sizes = [int(e) for e in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: sizes[i] - exact[i])
    for i in by_remainder[:len(items) - sum(sizes)]:
        sizes[i] += 1
    out, start = [], 0
    for size in sizes:
        out.append(items[start:start + size])
        start += size
    return out


class Coordinator(Orchestrator):
    def __init__(self, experiment, token, gateways, poll_s=0.2, **kw):
        super().__init__(experiment, token, **kw)
        if self.rule != "mean" or self.max_grad_norm is not None:
            raise ValueError("--ray aggregates hierarchically with the mean only (no "
                             "--aggregate other than mean, no --max-grad-norm)")
        if self.hp["mode"] == "local_sgd":
            raise ValueError("--ray does not run local_sgd (use fixed_global or fixed_local)")
        self.gateways = list(gateways)
        self.poll_s = poll_s
        self.incarnation = secrets.token_hex(4)  # a restart may reuse version numbers
        self.ready_counts = [0] * len(self.gateways)
        self.gateway_views = [{"index": i, "url": None, "alive": False, "pid": None,
                               "workers": [], "samples": 0, "failures": 0, "restarts": 0}
                              for i in range(len(self.gateways))]
        self._published = None  # (version, object ref)

    # the workers live in the gateways: the coordinator sees counts, not connections
    def ready(self):
        return [None] * sum(self.ready_counts)

    live = ready

    def _drop(self, member, reason, close=True):
        pass

    async def poll(self, timeout=2.0):
        """Each gateway's ready workers (0 for one that does not answer in time)."""
        urls = [view["url"] for view in self.gateway_views]

        async def ask(g):
            try:
                return await asyncio.wait_for(g.snapshot.remote(urls), timeout)
            except Exception:  # dead, restarting or slow: not part of this round
                return None
        snapshots = await asyncio.gather(*(ask(g) for g in self.gateways))
        for view, snap in zip(self.gateway_views, snapshots):
            if snap is None:
                view["failures"] += view["alive"]  # count the moment it went away
                view.update(alive=False, workers=[])
                continue
            if view["pid"] is not None and snap["pid"] != view["pid"]:
                view["restarts"] += 1
            view.update(alive=True, pid=snap["pid"], url=snap["url"], workers=snap["workers"])
        self.ready_counts = [s["ready"] if s else 0 for s in snapshots]
        return self.ready_counts

    def worker_rows(self, private=True):
        return [{**row, "gateway": view["index"]} if private else
                {**{k: v for k, v in row.items() if k != "address"}, "gateway": view["index"]}
                for view in self.gateway_views for row in view["workers"]]

    def status(self, max_points=500, private=True):
        out = super().status(max_points, private)
        out["gateways"] = [{**{k: v for k, v in view.items() if k not in ("workers", "pid")},
                            "workers": len(view["workers"]),
                            "samples_per_s": sum(w["samples_per_s"] or 0
                                                 for w in view["workers"])}
                           for view in self.gateway_views]
        return out

    def routes(self):
        """The dashboard and its status only: workers get the page and the experiment
        from a gateway."""
        routes = super().routes()
        return {path: routes[path] for path in ("/", "/status.json")}

    async def wait_for_workers(self, n):
        while sum(await self.poll()) < max(1, n):
            await asyncio.sleep(self.poll_s)

    def published_weights(self):
        import ray
        if self._published is None or self._published[0] != self.version:
            self._published = (self.version, ray.put(state_arrays(self.model)))
        return self._published[1]

    async def run_round(self, perm):
        await self.wait_for_workers(1 if self._started else self.hp["min_workers"])
        self._started = True
        samples = self._round_samples(perm)
        self.round += 1
        started = time.monotonic()
        weights = [self.published_weights()]  # in a list: gateways fetch it when stale
        pending, answers = list(enumerate(samples)), []
        while pending:
            counts = await self.poll()
            if not any(counts):
                await asyncio.sleep(self.poll_s)
                continue
            active = [i for i, c in enumerate(counts) if c]
            # 2 samples a gateway at least (BatchNorm cannot train on one): the busiest
            active = sorted(sorted(active, key=lambda i: -counts[i])[:max(1, len(pending) // 2)])
            chunks = split_by_weight(pending, [counts[i] for i in active])
            pending = []
            calls = [(i, chunk, self.gateways[i].run_round.remote(
                self.incarnation, self.version, weights, [s for _, s in chunk]))
                for i, chunk in zip(active, chunks) if chunk]
            for i, chunk, ref in calls:
                try:
                    answer = await ref
                except Exception as e:  # the gateway died: its samples go to the others
                    self._log(f"round {self.round}: a gateway failed "
                              f"({type(e).__name__}); {len(chunk)} samples reassigned")
                    answer = None
                    view = self.gateway_views[i]
                    view["failures"] += 1
                    view["alive"] = False
                if answer is None:
                    pending += chunk
                    self.stats["reassigned_samples"] += len(chunk)
                else:
                    answers.append((chunk[0][0], i, answer))
                    self.gateway_views[i]["samples"] += answer["samples"]
        answered_by = {i for _, i, _ in answers}
        answers = [a for _, _, a in sorted(answers, key=lambda fia: fia[0])]
        n = sum(a["samples"] for a in answers)
        update = {"grads": self.mean_of(answers, "grads", n),
                  "buffers": self.mean_of(answers, "buffers", n),
                  "batch_size": n, "first": 0}
        self._apply([update])
        self.position += len(samples)
        loss_n = sum(a["loss_samples"] for a in answers)
        loss = sum(a["loss_sum"] for a in answers) / loss_n if loss_n else None
        self.history.append({"round": self.round, "version": self.version,
                             "samples": len(samples), "loss": loss,
                             "workers": sum(a["workers"] for a in answers),
                             "gateways": len(answered_by),
                             "seconds": time.monotonic() - started,
                             "seen": self.samples_seen(),
                             "time": time.monotonic() - self.started_at})
        return loss

    @staticmethod
    def mean_of(answers, key, n):
        names = answers[0][key]
        return {k: sum(a[key][k] for a in answers) / n for k in names}


class CoordinatorActor:
    """The Ray actor (wrapped with ray.remote by launch.py)."""

    def __init__(self, experiment, token, gateways, dashboard=None, **kw):
        import ray
        with warnings.catch_warnings():  # Ray 2.60 warns about its own actor_id inside
            warnings.simplefilter("ignore")
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        if restarted and kw.get("checkpoint_dir"):
            kw["resume"] = True  # Ray restarted us after a crash: go on from the checkpoint
        self.lines = []
        kw.setdefault("say", self._say)
        self.coordinator = Coordinator(local_copy(experiment), token, gateways, **kw)
        self.dashboard = dashboard  # (host, port) to serve the dashboard on, or None
        self.transport = None

    async def start_dashboard(self):
        """Serve the dashboard (once; a restarted actor again on its port, if one was
        given); its http URL, or None without one."""
        if self.dashboard is None:
            return None
        if self.transport is None:
            from ..transport import Transport

            async def no_workers_here(peer):
                await peer.close(1008, "this is the coordinator: workers join a gateway")
            host, port = self.dashboard
            self.transport = await Transport(no_workers_here, host, port,
                                             routes=self.coordinator.routes()).start()
        return self.transport.url.replace("ws://", "http://").removesuffix("/ws")

    def _say(self, line):
        self.lines.append(line)
        print(line, flush=True)

    async def run(self):
        c = self.coordinator
        await self.start_dashboard()
        await c.run()
        return self.summary()

    async def status(self):
        return self.coordinator.status()

    def summary(self):
        c = self.coordinator
        return {"round": c.round, "version": c.version, "accuracy": c.accuracy,
                "history": c.history, "stats": dict(c.stats),
                "gateways": c.status()["gateways"]}

    async def progress(self):
        return {"round": self.coordinator.round, "version": self.coordinator.version}

    async def state(self):
        return {k: np.asarray(v) for k, v in state_arrays(self.coordinator.model).items()}

    async def log(self):
        return list(self.lines)
