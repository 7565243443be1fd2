"""The parameter server's transport: one `websockets.serve` port for everything.

    GET /experiment.py      the experiment's source (workers import the same file)
    GET /, /worker, /status.json   the dashboard, the page that joins as a worker, and
                            the live status the dashboard polls (server/orchestrator.py)
    GET /web/..., ...       static files (server/static.py)
    /ws                     the workers' websocket (binary frames, docs/protocol.md)

`compression=None` (permessage-deflate costs ~10x on float payloads). Frame sizes are
limited per connection, before a frame's payload is read: `pre_auth_max_size` (4 KiB; a
hello is about 100 bytes) until the orchestrator accepts the connection's hello and
raises it with `Peer.set_max_size` (64 MiB by default: a ResNet-18 float32 gradient is
~45 MB); a larger frame closes the connection with code 1009 without being buffered.
At most `max_connections` websockets are open at once, `max_per_address` from one host;
more get HTTP 503 at the upgrade. The orchestrator sees each connection as a `Peer` with
send/recv/close, the same three calls the worker's transport adapter has.

Link shaping (`--link-rate-mbps R --link-delay-ms D` on `python -m server`, a `Link`
here), for benchmarks of a slow network on one machine: every /ws connection gets its own
link, one token bucket (rate R, burst `Link.burst` bytes) and a one-way delay D per
direction. A frame of n bytes entering the link at time t (a server `send`, or the moment
a worker's frame came off the socket) is delivered at t + (its wait in the token bucket,
behind the frames before it) + D, in order: `send` returns at once (a queue and a writer
task deliver it), `recv` returns frames at their delivery times (a reader task stamps them
on arrival). It shapes websocket messages only (not the HTTP files, nor websocket
pings): a model of the link's bandwidth and latency, not of TCP.

`Link(..., shared=True)` is one machine's NIC instead: every connection of the transport
draws from the same two token buckets (one per direction, full duplex), so N busy
connections get rate / N each (bench/ray_bench.py puts each Ray gateway behind one).
"""
import asyncio
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from distml.distributed.protocol import DEFAULT_MAX_SIZE, PRE_AUTH_MAX_SIZE, TransportClosed
from .static import MIME_TYPES, StaticFiles, _path_only

DEFAULT_MAX_CONNECTIONS = 512
DEFAULT_MAX_PER_ADDRESS = 32



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

    def __init__(self, rate=None, delay=0.0, burst=16 << 10, clock=time.monotonic,
                 shared=False):
        if rate is not None and not rate > 0:
            raise ValueError(f"link rate must be positive, got {rate}")
        if delay < 0:
            raise ValueError(f"link delay must be >= 0, got {delay}")
        self.rate, self.delay, self.burst, self.clock = rate, float(delay), burst, clock
        self.shared = shared
        self._buckets = {}  # direction -> the bucket all connections share (shared=True)

    @classmethod
    def from_flags(cls, rate_mbps=None, delay_ms=None, shared=False):
        """The link of `--link-rate-mbps` (megabits/s) and `--link-delay-ms`, or None."""
        if not rate_mbps and not delay_ms:
            return None
        return cls(rate_mbps * 1e6 / 8 if rate_mbps else None, (delay_ms or 0) / 1000,
                   shared=shared)

    def bucket(self, direction=None):
        """The token bucket of one direction ("up", "down") of a connection: its own, or
        with `shared` the one every connection's `direction` draws from."""
        if not self.rate:
            return None
        if not self.shared:
            return TokenBucket(self.rate, self.burst, self.clock)
        if direction not in self._buckets:
            self._buckets[direction] = TokenBucket(self.rate, self.burst, self.clock)
        return self._buckets[direction]

    def due(self, bucket, n):
        """When n bytes entering the link now (behind the bucket's queue) come out."""
        return self.clock() + (bucket.reserve(n) if bucket else 0.0) + self.delay

    def __repr__(self):
        rate = f"{self.rate * 8 / 1e6:g} Mbit/s" if self.rate else "unlimited"
        return f"Link({rate}, {self.delay * 1000:g} ms{', shared' if self.shared else ''})"


async def _sleep_until(due, clock):
    wait = due - clock()
    if wait > 0:
        await asyncio.sleep(wait)


class Peer:
    """One worker connection as the orchestrator sees it (shaped when it has a `Link`)."""

    def __init__(self, ws, link=None):
        self.ws = ws
        self.host, self.address = remote_host(ws), "?"
        try:
            self.address = f"{self.host}:{ws.remote_address[1]}"
        except (TypeError, IndexError):
            pass
        self._writer = self._reader = None  # the shaping tasks, once a link was set
        self.set_link(link)

    def set_link(self, link):
        """Shape this connection by `link` from now on (None: no shaping; frames already
        queued keep their delivery times)."""
        self.link = link
        self._down = link.bucket("down") if link else None  # server -> worker
        self._up = link.bucket("up") if link else None  # worker -> server

    def set_max_size(self, n):
        """The largest frame this connection may send from now on (checked on each frame's
        header, before its payload is read: websockets' `protocol.max_message_size`)."""
        self.ws.protocol.max_message_size = n

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


def remote_host(connection):
    """The host part of a connection's remote address ("?" when unknown)."""
    try:
        return str(connection.remote_address[0])
    except (TypeError, IndexError):
        return "?"


class ServerFiles(StaticFiles):
    """Static files plus a few routes: path -> (bytes, content type), or a callable
    `route(request, host)` returning (bytes, content type) or (status, bytes, content type),
    asked on every request (e.g. a live status behind a token). `admit(connection)` says
    whether a websocket upgrade may go on (the connection limits)."""

    def __init__(self, routes, mounts=None, log=None, admit=None):
        super().__init__(mounts, log)
        self.routes = dict(routes)
        self.admit = admit

    def process_request(self, connection, request):
        path = _path_only(request.path)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if path != "/ws":
                return self._reply(request.path, 404, b"websocket endpoint is /ws\n",
                                   MIME_TYPES[".txt"])
            refusal = self.admit(connection) if self.admit else None
            if refusal:
                return self._reply(request.path, 503, refusal.encode() + b"\n",
                                   MIME_TYPES[".txt"])
            return None
        if path in self.routes:
            route = self.routes[path]
            answer = route(request, remote_host(connection)) if callable(route) else route
            status, body, content_type = answer if len(answer) == 3 else (200, *answer)
            return self._reply(request.path, status, body, content_type)
        return self.response(request.path)


class Transport:
    """Serve `handler(peer)` on /ws and files on the same port.

        transport = await Transport(handler, routes={...}).start()
        ... transport.port ...
        await transport.close()
    """

    def __init__(self, handler, host="127.0.0.1", port=0, max_size=DEFAULT_MAX_SIZE,
                 routes=None, mounts=None, link=None, pre_auth_max_size=PRE_AUTH_MAX_SIZE,
                 max_connections=DEFAULT_MAX_CONNECTIONS,
                 max_per_address=DEFAULT_MAX_PER_ADDRESS):
        self.handler, self.host, self.port, self.max_size = handler, host, port, max_size
        self.pre_auth_max_size = pre_auth_max_size
        self.max_connections, self.max_per_address = max_connections, max_per_address
        self.files = ServerFiles(routes or {}, mounts, admit=self.admit)
        self.server = None
        self.link = link  # a Link shaping every /ws connection, or None
        self.peers = set()
        self.admitted = set()  # websocket connections past the limits, until they close
        self.refused = 0  # upgrades refused by the limits

    def admit(self, connection):
        """None when one more websocket may open, else why not (HTTP 503)."""
        from websockets.protocol import State
        self.admitted = {c for c in self.admitted if c.state is not State.CLOSED}
        host = remote_host(connection)
        if len(self.admitted) >= self.max_connections:
            self.refused += 1
            return f"too many connections (at most {self.max_connections})"
        if sum(remote_host(c) == host for c in self.admitted) >= self.max_per_address:
            self.refused += 1
            return f"too many connections from one address (at most {self.max_per_address})"
        self.admitted.add(connection)
        return None

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
            self.admitted.discard(ws)
            peer._stop(reader=True)

    async def start(self):
        self.server = await serve(self._on_connection, self.host, self.port,
                                  process_request=self.files.process_request,
                                  compression=None, max_size=self.pre_auth_max_size,
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
