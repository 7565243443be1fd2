"""The parameter server's transport: one `websockets.serve` port for everything.

    GET /experiment.py      the experiment's source (workers import the same file)
    GET /, /worker, /status.json   the dashboard, the page that joins as a worker, and
                            the live status the dashboard polls (server/orchestrator.py)
    GET /web/..., ...       static files (server/static.py)
    /ws                     the workers' websocket (binary frames, docs/protocol.md)

`compression=None` (permessage-deflate costs ~10x on float payloads) and a deliberate
`max_size` (64 MiB by default: a ResNet-18 float32 gradient is ~45 MB). The orchestrator
sees each connection as a `Peer` with send/recv/close, the same three calls the worker's
transport adapter has.

Link shaping (`--link-rate-mbps R --link-delay-ms D` on `python -m server`, a `Link`
here), for benchmarks of a slow network on one machine: every /ws connection gets its own
link, one token bucket (rate R, burst `Link.burst` bytes) and a one-way delay D per
direction. A frame of n bytes entering the link at time t (a server `send`, or the moment
a worker's frame came off the socket) is delivered at t + (its wait in the token bucket,
behind the frames before it) + D, in order: `send` returns at once (a queue and a writer
task deliver it), `recv` returns frames at their delivery times (a reader task stamps them
on arrival). It shapes websocket messages only (not the HTTP files, nor websocket
pings): a model of the link's bandwidth and latency, not of TCP.
"""
import asyncio
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from distml.distributed.worker import TransportClosed
from .static import MIME_TYPES, StaticFiles, _path_only

DEFAULT_MAX_SIZE = 64 << 20


class TokenBucket:
    """`rate` bytes/s with at most `burst` bytes of credit, on `clock` (injectable).

    `reserve(n)` takes n bytes' worth of tokens now, going into debt if there are too few,
    and returns the seconds until the debt is paid: how long the n bytes wait before the
    link has carried them. Back-to-back reservations queue behind each other, so N bytes
    sent at once take (N - burst) / rate.
    """

    def __init__(self, rate, burst=0, clock=time.monotonic):
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self.tokens = self.burst
        self.stamp = clock()

    def reserve(self, n):
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate) - n
        self.stamp = now
        return max(0.0, -self.tokens / self.rate)


class Link:
    """A shaped link: `rate` bytes/s (None: unlimited) and a one-way `delay` in seconds,
    with its own token bucket per connection and direction."""

    def __init__(self, rate=None, delay=0.0, burst=16 << 10, clock=time.monotonic):
        if rate is not None and not rate > 0:
            raise ValueError(f"link rate must be positive, got {rate}")
        if delay < 0:
            raise ValueError(f"link delay must be >= 0, got {delay}")
        self.rate, self.delay, self.burst, self.clock = rate, float(delay), burst, clock

    @classmethod
    def from_flags(cls, rate_mbps=None, delay_ms=None):
        """The link of `--link-rate-mbps` (megabits/s) and `--link-delay-ms`, or None."""
        if not rate_mbps and not delay_ms:
            return None
        return cls(rate_mbps * 1e6 / 8 if rate_mbps else None, (delay_ms or 0) / 1000)

    def bucket(self):
        return TokenBucket(self.rate, self.burst, self.clock) if self.rate else None

    def due(self, bucket, n):
        """When n bytes entering the link now (behind the bucket's queue) come out."""
        return self.clock() + (bucket.reserve(n) if bucket else 0.0) + self.delay

    def __repr__(self):
        rate = f"{self.rate * 8 / 1e6:g} Mbit/s" if self.rate else "unlimited"
        return f"Link({rate}, {self.delay * 1000:g} ms)"


async def _sleep_until(due, clock):
    wait = due - clock()
    if wait > 0:
        await asyncio.sleep(wait)


class Peer:
    """One worker connection as the orchestrator sees it (shaped when it has a `Link`)."""

    def __init__(self, ws, link=None):
        self.ws = ws
        try:
            host, port = ws.remote_address[:2]
            self.address = f"{host}:{port}"
        except (TypeError, ValueError):
            self.address = "?"
        self._writer = self._reader = None  # the shaping tasks, once a link was set
        self.set_link(link)

    def set_link(self, link):
        """Shape this connection by `link` from now on (None: no shaping; frames already
        queued keep their delivery times)."""
        self.link = link
        self._down = link.bucket() if link else None  # server -> worker
        self._up = link.bucket() if link else None  # worker -> server

    def _due(self, bucket, n):
        return self.link.due(bucket, n) if self.link else time.monotonic()

    async def send(self, data):
        if self.link is None and self._writer is None:
            try:
                await self.ws.send(data)
            except ConnectionClosed as e:
                raise TransportClosed(str(e)) from None
            return
        if self._writer is None:
            self._outbox = asyncio.Queue()
            self._closed = None
            self._writer = asyncio.get_running_loop().create_task(self._write())
        if self._closed is not None:
            raise TransportClosed(self._closed)
        self._outbox.put_nowait((self._due(self._down, len(data)), data))

    async def _write(self):
        while True:
            due, data = await self._outbox.get()
            try:
                await _sleep_until(due, time.monotonic)
                if self._closed is None:
                    await self.ws.send(data)
            except ConnectionClosed as e:
                self._closed = str(e) or "connection closed"
            finally:
                self._outbox.task_done()

    async def recv(self):
        if self.link is None and self._reader is None:
            try:
                return await self.ws.recv()
            except ConnectionClosed as e:
                raise TransportClosed(str(e)) from None
        if self._reader is None:
            self._inbox = asyncio.Queue()
            self._reader = asyncio.get_running_loop().create_task(self._read())
        item = await self._inbox.get()
        if isinstance(item, str):  # the connection is gone: tell every later call too
            self._inbox.put_nowait(item)
            raise TransportClosed(item)
        due, data = item
        await _sleep_until(due, time.monotonic)
        return data

    async def _read(self):
        while True:
            try:
                data = await self.ws.recv()
            except ConnectionClosed as e:
                self._inbox.put_nowait(str(e) or "connection closed")
                return
            self._inbox.put_nowait((self._due(self._up, len(data)), data))

    def _stop(self, reader=False):
        # the reader ends by itself when the socket closes (and tells recv so); it is
        # cancelled only once nobody reads any more
        if self._writer is not None:
            self._writer.cancel()
            self._closed = self._closed or "connection closed"
        if reader and self._reader is not None:
            self._reader.cancel()

    async def close(self, code=1000, reason=""):
        if self._writer is not None:  # deliver what is queued (e.g. a bye) first
            await self._outbox.join()
        self._stop()
        await self.ws.close(code, reason[:100])

    def abort(self):
        """Drop the TCP connection now (a worker that stopped answering)."""
        self._stop()
        self.ws.transport.abort()


class ServerFiles(StaticFiles):
    """Static files plus a few routes: path -> (bytes, content type), or a callable
    returning that (asked on every request, e.g. a live status)."""

    def __init__(self, routes, mounts=None, log=None):
        super().__init__(mounts, log)
        self.routes = dict(routes)

    def process_request(self, connection, request):
        path = _path_only(request.path)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if path == "/ws":
                return None
            return self._reply(request.path, 404, b"websocket endpoint is /ws\n",
                               MIME_TYPES[".txt"])
        if path in self.routes:
            route = self.routes[path]
            body, content_type = route() if callable(route) else route
            return self._reply(request.path, 200, body, content_type)
        return self.response(request.path)


class Transport:
    """Serve `handler(peer)` on /ws and files on the same port.

        transport = await Transport(handler, routes={...}).start()
        ... transport.port ...
        await transport.close()
    """

    def __init__(self, handler, host="127.0.0.1", port=0, max_size=DEFAULT_MAX_SIZE,
                 routes=None, mounts=None, link=None):
        self.handler, self.host, self.port, self.max_size = handler, host, port, max_size
        self.files = ServerFiles(routes or {}, mounts)
        self.server = None
        self.link = link  # a Link shaping every /ws connection, or None
        self.peers = set()

    def set_link(self, link):
        """Shape the open connections and the next ones by `link` (None: no shaping)."""
        self.link = link
        for peer in self.peers:
            peer.set_link(link)

    async def _on_connection(self, ws):
        peer = Peer(ws, self.link)
        self.peers.add(peer)
        try:
            await self.handler(peer)
        finally:
            self.peers.discard(peer)
            peer._stop(reader=True)

    async def start(self):
        self.server = await serve(self._on_connection, self.host, self.port,
                                  process_request=self.files.process_request,
                                  compression=None, max_size=self.max_size,
                                  ping_interval=20, ping_timeout=20)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self):
        return f"ws://{self.host}:{self.port}/ws"

    async def close(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
