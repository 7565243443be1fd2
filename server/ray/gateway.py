"""A gateway: a group of workers that answers the coordinator as one.

`GatewayRounds` is the single server's `Orchestrator` (the same sessions, assignments,
deadlines, validation and transport, so its workers see the same protocol) with two
changes: a round's samples are the sub-range the coordinator gives it, and instead of
taking a step it returns the batch-size-weighted SUM of its workers' gradients and
BatchNorm statistics with their sample count (float64). The coordinator adds the sums of
all gateways and divides by the total: exactly the flat server's weighted mean, up to
the order of the float additions.

`Gateway` is the Ray actor around it (an async actor: its websockets server lives in the
actor's event loop). Weights come from the coordinator as an object-store reference and
are fetched once per (coordinator incarnation, version). A gateway with no ready worker
for `idle_s` gives its sub-range back (returns None) so the coordinator can reassign it.

Each gateway also serves `GET /gateways?token=T`: {"gateways": [every gateway's ws URL]}
(launch.py tells them all, the coordinator again with each poll), so the worker page
one of them served can move to another when its own goes away (web/join.html,
distml/distributed/browser.py).
"""
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from distml.distributed.experiment import load_state_arrays

from ..orchestrator import Orchestrator
from ..transport import Transport


def local_copy(experiment):
    """The experiment file on this node: `experiment` is a path, or (file name, source
    bytes) as launch.py ships it (the actors may run on other machines)."""
    if isinstance(experiment, (str, Path)):
        return str(experiment)
    name, source = experiment
    path = Path(tempfile.mkdtemp(prefix="distml-ray-")) / name
    path.write_bytes(source)
    return str(path)


def weighted_sums(updates, key):
    """{name: sum over updates of batch_size * update[key][name]} in float64."""
    out = {}
    for u in updates:
        for k, v in u[key].items():
            term = np.asarray(v, dtype=np.float64) * u["batch_size"]
            out[k] = out[k] + term if k in out else term
    return out


class GatewayRounds(Orchestrator):
    """The single server's rounds over a sub-range, answering sums instead of a step."""

    def __init__(self, *args, **kw):
        super().__init__(*args, progress=False, **kw)
        self._started = True  # the coordinator gates the start (min_workers over all)
        self.loaded = None  # (incarnation, version) of the weights in self.model
        self.partial = None

    def _round_samples(self, chunk):
        return list(chunk)  # run_round's "permutation" is already this round's sub-range

    def _apply(self, updates):
        updates = sorted(updates, key=lambda u: u["first"])
        losses = [(u["loss"], u["batch_size"]) for u in updates if u["loss"] is not None]
        self.partial = {"grads": weighted_sums(updates, "grads"),
                        "buffers": weighted_sums(updates, "buffers"),
                        "samples": sum(u["batch_size"] for u in updates),
                        "loss_sum": sum(v * n for v, n in losses),
                        "loss_samples": sum(n for _, n in losses),
                        "workers": len(updates)}

    def load_weights(self, incarnation, version, arrays):
        if self.loaded is not None and self.loaded[0] != incarnation:
            for m in self.live():  # a restarted coordinator may reuse version numbers
                m.version_sent = None
        load_state_arrays(self.model, arrays)
        self.version, self._weights = version, None
        self.loaded = (incarnation, version)

    def abandon_round(self):
        """A cancelled round: outstanding assignments are forgotten (their answers will
        be told 'too late')."""
        for m in self.live():
            if m.assignment is not None:
                m.late_rounds.add(self.round)
                m.assignment = None


class Gateway:
    """The Ray actor (wrapped with ray.remote by launch.py)."""

    def __init__(self, experiment, token, host="127.0.0.1", port=0, idle_s=10.0,
                 transport_kw=None, **orchestrator_kw):
        self.rounds = GatewayRounds(local_copy(experiment), token, **orchestrator_kw)
        self.host, self.port, self.idle_s = host, port, idle_s
        self.transport_kw = transport_kw or {}
        self.transport = None
        self.task = None  # the running round
        self.gateway_urls = []  # every gateway's ws URL (set_gateways), for /gateways

    async def start(self):
        """Listen (once; a restarted actor listens again on the same port); the ws URL."""
        if self.transport is None:
            routes = {**self.rounds.routes(), "/gateways": self._gateways_route}
            self.transport = await Transport(self.rounds.handle, self.host, self.port,
                                             routes=routes,
                                             **self.transport_kw).start()
        return self.url()

    def url(self):
        url = self.transport.url
        if self.host in ("0.0.0.0", "::", ""):  # say where other machines reach us
            import ray
            url = url.replace(f"//{self.host}:", f"//{ray.util.get_node_ip_address()}:")
        return url

    async def set_gateways(self, urls):
        self.gateway_urls = list(urls)

    def _gateways_route(self, request, host):
        scope, refusal = self.rounds.access(request, host)
        if scope != "workers":
            return refusal or (403, b"the workers' token is needed\n", "text/plain")
        urls = self.gateway_urls or [self.url()]
        return json.dumps({"gateways": urls}).encode(), "application/json"

    async def ready_count(self):
        await self.start()
        return len(self.rounds.ready())

    async def snapshot(self, gateway_urls=None):
        """What the coordinator polls before each round (and shows on its dashboard). It
        passes the gateways' URLs it knows: a gateway Ray restarted learns them again."""
        await self.start()
        if gateway_urls and all(gateway_urls):
            self.gateway_urls = list(gateway_urls)
        r = self.rounds
        return {"ready": len(r.ready()), "workers": r.worker_rows(private=True),
                "pid": os.getpid(), "url": self.url(), "round": r.round}

    async def run_round(self, incarnation, version, weights, chunk):
        """Train `chunk` (sample ids) at `version`; the sums, or None if no worker came.
        The gateway numbers its rounds itself (one per call), so that a late answer to an
        abandoned round can never pass for the answer to a later one."""
        await self.start()
        if self.task is not None and not self.task.done():  # a restarted coordinator's
            await self._abandon(self.task)
        r = self.rounds
        if r.loaded != (incarnation, version):
            r.load_weights(incarnation, version, await weights[0])
        r.partial = None
        task = self.task = asyncio.get_running_loop().create_task(r.run_round(chunk))
        last_ready = time.monotonic()
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            if r.ready():
                last_ready = time.monotonic()
            elif time.monotonic() - last_ready > self.idle_s and not task.done():
                await self._abandon(task)
                return None
        task.result()  # (cancelled by a later call: raises to the caller, who is gone)
        return r.partial

    async def _abandon(self, task):
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self.rounds.abandon_round()

    async def status(self):
        r = self.rounds
        return {"round": r.round, "version": r.version, "ready": len(r.ready()),
                "stats": dict(r.stats), "pid": os.getpid()}

    async def finish(self, reason="training finished"):
        """Say bye to every worker and stop listening."""
        r = self.rounds
        r.done = True
        for m in r.live():
            r._drop(m, reason)
        if r._closing:
            await asyncio.wait(list(r._closing), timeout=10)
        if self.transport is not None:
            await self.transport.close()
        return True
