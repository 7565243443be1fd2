"""A data-parallel worker: the same class on CPython and (later) in the browser.

    python -m distml.distributed.worker ws://127.0.0.1:8000/ws --token T

The worker talks to the parameter server through a small transport adapter with three
coroutines, `send(bytes)`, `recv() -> bytes` (raising TransportClosed when the connection
is gone) and `close()`; `WebsocketsTransport` is the CPython one, over the `websockets`
client. Everything else (the protocol, the model, the gradient) is shared.

Protocol (docs/protocol.md): hello(token, capabilities) -> welcome(worker_id, experiment
sha256, hyperparameters, version); the worker loads the experiment's source (served at
/experiment.py), builds the model and the training set, then for every `round` frame:
loads the weights when they come with it (its version was stale), computes the gradient
of the mean loss over its samples and answers `gradient` (round, version, batch_size,
loss) with one tensor per parameter plus the BatchNorm running statistics, named
"buffer:<name>". In local SGD rounds (kind "local_sgd") it instead takes `local_steps`
steps of its own optimizer (made once by the experiment's make_optimizer, so its state
carries over between rounds) and answers the change of its weights. Heartbeats go out in
the background; `bye` on the way out. The model and the batches live on the experiment's
`device` ("cpu" when it names none).
"""
import argparse
import asyncio
import logging
import os
import sys
import time

from . import codec
from ..device import device as on_device
from .experiment import float_buffers, load_experiment, source_hash
from .protocol import BUFFER_PREFIX, DEFAULT_MAX_SIZE, TransportClosed  # noqa: F401
from .topk import ErrorFeedback

log = logging.getLogger("distml.worker")


def _quote(text):
    import urllib.parse
    return urllib.parse.quote(text, safe="")


def _split(items, parts):
    """`items` in `parts` contiguous, non-empty chunks whose sizes differ by at most one."""
    parts = max(1, min(parts, len(items)))
    base, extra = divmod(len(items), parts)
    starts = [i * base + min(i, extra) for i in range(parts + 1)]
    return [items[a:b] for a, b in zip(starts, starts[1:])]


class ServerError(RuntimeError):
    """The server refused us (bad token, protocol mismatch, ...)."""


class WebsocketsTransport:
    """The CPython adapter: a `websockets` client connection."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def connect(cls, url, max_size=DEFAULT_MAX_SIZE, open_timeout=10):
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus
        try:
            ws = await connect(url, compression=None, max_size=max_size,
                               open_timeout=open_timeout)
        except InvalidStatus as e:
            hint = ""
            if e.response.status_code == 404:
                hint = f": the server's websocket is at /ws, e.g. {_ws_endpoint(url)}"
            raise TransportClosed(f"cannot connect to {url}: the server answered HTTP "
                                  f"{e.response.status_code}{hint}") from None
        except ConnectionRefusedError:
            raise TransportClosed(f"cannot connect to {url}: connection refused (is the "
                                  f"server running, on this host and port?)") from None
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as e:
            raise TransportClosed(f"cannot connect to {url}: {e or type(e).__name__}") \
                from None
        return cls(ws)

    async def send(self, data):
        from websockets.exceptions import ConnectionClosed
        try:
            await self.ws.send(data)
        except ConnectionClosed as e:
            raise TransportClosed(str(e)) from None

    async def recv(self):
        from websockets.exceptions import ConnectionClosed
        try:
            data = await self.ws.recv()
        except ConnectionClosed as e:
            raise TransportClosed(str(e)) from None
        return data if isinstance(data, bytes) else data.encode()

    async def close(self):
        await self.ws.close()


def _ws_endpoint(url):
    """The server's /ws endpoint on the host and port of `url`."""
    import urllib.parse
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/ws", "", ""))


def websocket_url(text):
    """argparse type: a ws:// or wss:// URL (an http:// one is refused with the fix)."""
    import urllib.parse
    parts = urllib.parse.urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        fixed = urllib.parse.urlunsplit(("wss" if parts.scheme == "https" else "ws",
                                         parts.netloc, "/ws", "", ""))
        raise argparse.ArgumentTypeError(f"{text} is a web page address; a worker connects "
                                         f"to the server's websocket: {fixed}")
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a websocket URL: give the "
                                         f"server's ws://HOST:PORT/ws")
    return text


class _OneLineParser(argparse.ArgumentParser):
    """A user's mistake is one line on stderr (no usage dump), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def http_fetcher(ws_url):
    """An async fetch(path) -> bytes for the HTTP side of the server behind `ws_url`
    (CPython; the browser fetches with its own `fetch`)."""
    import urllib.parse
    import urllib.request
    parts = urllib.parse.urlsplit(ws_url)
    base = urllib.parse.urlunsplit(("https" if parts.scheme == "wss" else "http",
                                    parts.netloc, "", "", ""))

    def get(path):
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.read()

    async def fetch(path):
        return await asyncio.to_thread(get, path)
    return fetch


class Worker:
    """One worker. `run()` returns when the server says bye (or raises ServerError /
    TransportClosed). `offload=True` computes in a thread so heartbeats keep flowing
    (CPython); in the browser everything runs on the page's one thread."""

    def __init__(self, transport, token, fetch, name=None, capabilities=None,
                 heartbeat_s=5.0, offload=False, delay_s=0.0, on_status=None):
        self.transport, self.token, self.fetch = transport, token, fetch
        self.name = name
        self.capabilities = dict(capabilities or {"cpython": True})
        self.heartbeat_s, self.offload, self.delay_s = heartbeat_s, offload, delay_s
        self.on_status = on_status  # callable(state=..., **details), e.g. for a page
        self.worker_id = None
        self.version = None  # version of the weights the model holds
        self.hyperparameters = {}
        self.experiment = self.model = self.dataset = self.optimizer = None
        self.device = "cpu"
        self.rounds_done = 0
        self.errors = []  # (code, message) the server sent us
        self._compression = None
        self._feedback = None  # ErrorFeedback under "topk:F" (residuals across rounds)

    def status(self, state, **details):
        if self.on_status is not None:
            self.on_status(state=state, **details)

    # -- the pieces a subclass (or a test) may change -----------------------------------
    def compute(self, indices):
        """(gradients {name: tensor}, buffers {name: tensor}, mean loss) on these samples.
        Values may be distml tensors or numpy arrays (the codec takes either)."""
        model = self.model
        model.train()
        model.zero_grad()
        loss = self._loss(indices)
        loss.backward()
        grads = {}
        for name, p in model.named_parameters():
            grads[name] = p.grad.detach() if p.grad is not None else p.detach() * 0
        buffers = {k: b.detach() for k, b in float_buffers(model).items()}
        return grads, buffers, float(loss.item())

    def local_train(self, indices, steps):
        """Local SGD: `steps` optimizer steps on consecutive slices of these samples;
        (weight change {name: tensor}, buffers, mean loss)."""
        model = self.model
        model.train()
        if self.optimizer is None:  # one per worker, kept across rounds (momentum, Adam)
            self.optimizer = self.experiment.make_optimizer(model.parameters())
        start = {k: p.detach().clone() for k, p in model.named_parameters()}
        losses = []
        for part in _split(list(indices), steps):
            self.optimizer.zero_grad()
            loss = self._loss(part)
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.item()) * len(part))
        delta = {k: p.detach() - start[k] for k, p in model.named_parameters()}
        buffers = {k: b.detach() for k, b in float_buffers(model).items()}
        return delta, buffers, sum(losses) / len(indices)

    def _loss(self, indices):
        x, y = self.dataset.get_batch(list(indices))
        return self.experiment.loss_fn(self.model(x.to(self.device)), y.to(self.device))

    def load_weights(self, frame):
        """Load the state_dict a round frame carries (numpy or not: values come back flat
        without numpy, so reshape)."""
        from .._tensor import Tensor
        state = {k: Tensor(frame.values(k)).reshape(frame.tensors[k][0])
                 for k in frame.tensors}
        self.model.load_state_dict(state)

    def reply_version(self, fields):
        return self.version

    # -- protocol ---------------------------------------------------------------------
    async def _send(self, msg_type, fields=None, tensors=None, compression=None):
        await self.transport.send(codec.encode(msg_type, fields, tensors, compression))

    async def _recv(self):
        return codec.decode(await self.transport.recv())

    async def handshake(self):
        hello = {"token": self.token, "protocol": codec.PROTOCOL_VERSION,
                 "capabilities": self.capabilities}
        if self.name:
            hello["name"] = self.name
        await self._send("hello", hello)
        frame = await self._recv()
        if frame.type == "error":
            self.errors.append((frame.fields.get("code"), frame.fields["message"]))
            raise ServerError(f"server refused: {frame.fields['message']}")
        if frame.type != "welcome":
            raise ServerError(f"expected welcome, got {frame.type}")
        self.worker_id = frame.fields["worker_id"]
        self.hyperparameters = frame.fields["hyperparameters"]
        self._compression = self.hyperparameters.get("compression")
        fraction = codec.topk_fraction(self._compression)
        self._feedback = ErrorFeedback(fraction) if fraction is not None else None
        self.heartbeat_s = float(self.hyperparameters.get("heartbeat_s", self.heartbeat_s))
        # the experiment is served to holders of the token only
        source = await self.fetch("/experiment.py?token=" + _quote(self.token))
        if source_hash(source) != frame.fields["experiment"]:
            raise ServerError("the experiment served at /experiment.py does not match the "
                              "one the server announced")
        self.experiment = load_experiment(source)
        self.experiment.hyperparameters.update(self.hyperparameters)  # the server's overrides
        self.device = getattr(self.experiment, "device", "cpu")
        with on_device(self.device):  # initial weights drawn there (the server's replace
            self.model = self.experiment.make_model()  # them): no host-side init to upload
        self.model.to(self.device)
        self.dataset = self.experiment.make_dataset(True)
        log.info("worker %s joined (version %d)", self.worker_id, frame.fields["version"])

    async def _heartbeats(self):
        try:
            while True:
                await asyncio.sleep(self.heartbeat_s)
                await self._send("heartbeat", {"time": time.time(), "state": "alive"})
        except (TransportClosed, OSError):
            pass  # the main loop finds out too

    async def on_round(self, frame):
        f = frame.fields
        if f["kind"] not in ("gradient", "local_sgd"):
            await self._send("error", {"message": f"round kind {f['kind']!r} is not "
                                                  f"supported by this worker",
                                       "code": "unsupported"})
            return
        if frame.tensors:
            self.load_weights(frame)
            self.version = f["version"]
        if self.version != f["version"]:
            log.warning("round %d: have version %s, server is at %d and sent no weights",
                        f["round"], self.version, f["version"])
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.status("training", round=f["round"], samples=len(f["indices"]))
        if f["kind"] == "local_sgd":
            fn, args = self.local_train, (f["indices"], f.get("local_steps", 1))
        else:
            fn, args = self.compute, (f["indices"],)
        start = time.perf_counter()
        try:
            if self.offload:
                grads, buffers, loss = await asyncio.to_thread(fn, *args)
            else:
                grads, buffers, loss = fn(*args)
        except Exception as e:  # say so (the server gives the samples to others) and go on
            log.warning("round %d failed: %r", f["round"], e)
            await self._send("error", {"message": f"round {f['round']} failed: "
                                                  f"{type(e).__name__}: {e}"[:500],
                                       "code": "compute_failed"})
            self.status("idle", round=f["round"])
            return
        rate = len(f["indices"]) / max(time.perf_counter() - start, 1e-9)
        if self._feedback is not None:  # sparsify the update, never the BN statistics
            tensors = [(k, tuple(v.shape), self._feedback.compress(k, v))
                       for k, v in grads.items()]
        else:
            tensors = [(k, tuple(v.shape), v) for k, v in grads.items()]
        tensors += [(BUFFER_PREFIX + k, tuple(v.shape), v) for k, v in buffers.items()]
        fields = {"round": f["round"], "version": self.reply_version(f),
                  "batch_size": len(f["indices"]), "samples_per_s": rate}
        if loss == loss and abs(loss) != float("inf"):
            fields["loss"] = loss
        await self._send("gradient", fields, tensors, self._compression)
        self.rounds_done += 1
        self.status("idle", round=f["round"], samples_per_s=rate, rounds=self.rounds_done,
                    **({"loss": fields["loss"]} if "loss" in fields else {}))

    async def run(self):
        self.status("joining")
        await self.handshake()
        # the model and the data are loaded: the server may send work now
        await self._send("heartbeat", {"time": time.time(), "state": "ready"})
        self.status("idle", worker_id=self.worker_id)
        beats = asyncio.create_task(self._heartbeats())
        try:
            while True:
                try:
                    frame = await self._recv()
                except codec.FrameError as e:
                    log.warning("bad frame from the server: %s", e)
                    await self._send("error", {"message": f"bad frame: {e}",
                                               "code": "bad_frame"})
                    continue
                if frame.type == "round":
                    await self.on_round(frame)
                elif frame.type == "error":
                    code, message = frame.fields.get("code"), frame.fields["message"]
                    self.errors.append((code, message))
                    log.warning("server error (%s): %s", code, message)
                elif frame.type == "bye":
                    log.info("server said bye: %s", frame.fields.get("reason", ""))
                    return frame.fields.get("reason", "")
                # heartbeats and anything else: nothing to do
        finally:
            beats.cancel()
            try:
                await asyncio.wait_for(self._send("bye", {"reason": "worker exiting"}), 2)
            except (TransportClosed, asyncio.TimeoutError, OSError):
                pass
            try:
                await asyncio.wait_for(self.transport.close(), 5)
            except (asyncio.TimeoutError, OSError):
                pass


async def run_worker(url, token, name=None, delay_s=0.0, offload=True, reconnect=0,
                     backoff_s=0.5):
    """Connect and work until the server says bye. When the connection is lost (or cannot
    be made), try again up to `reconnect` times in all, `backoff_s` apart: a restarted
    server (`--resume`) gets its workers back. `url` may be a list (the gateways of
    `python -m server --ray`): each attempt takes the next one, round robin, waiting
    `backoff_s` only after trying them all."""
    urls = [url] if isinstance(url, str) else list(url)
    for attempt in range(reconnect + 1):
        url = urls[attempt % len(urls)]
        try:
            transport = await WebsocketsTransport.connect(url)
            worker = Worker(transport, token, http_fetcher(url), name=name, offload=offload,
                            delay_s=delay_s)
            return await worker.run()
        except TransportClosed as e:
            if attempt == reconnect:
                raise
            wait = backoff_s if (attempt + 1) % len(urls) == 0 else 0.0  # tried them all
            log.warning("%s; reconnecting in %.1f s (%d/%d)", e, wait, attempt + 1, reconnect)
            await asyncio.sleep(wait)


def _count(text):
    """argparse type: an int >= 0."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0, 1, 2, ...)")
    return n


def main(argv=None):
    name = os.path.basename(sys.argv[0] or "")
    prog = "python -m distml.distributed.worker" if name.endswith(".py") else name or None
    ap = _OneLineParser(prog=prog, description="A CPython distml worker.")
    ap.add_argument("url", nargs="+", type=websocket_url,
                    help="the server's websocket, e.g. ws://127.0.0.1:8000/ws "
                    "(several: the gateways of --ray, tried in turn when reconnecting)")
    ap.add_argument("--token", required=True, help="the server's --workers-token")
    ap.add_argument("--name", default=None)
    ap.add_argument("--delay", type=float, default=0.0,
                    help="sleep this long before each round (simulates a slow device)")
    ap.add_argument("--reconnect", type=_count, default=0,
                    help="when the connection is lost, try again up to N times")
    ap.add_argument("--backoff", type=float, default=0.5, help="seconds between attempts")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker: %(message)s")
    try:
        reason = asyncio.run(run_worker(args.url, args.token, args.name, args.delay,
                                        reconnect=args.reconnect, backoff_s=args.backoff))
    except ServerError as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 2
    except (TransportClosed, OSError) as e:
        print(f"{ap.prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"worker: done ({reason})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
