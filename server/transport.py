"""The parameter server's transport: one `websockets.serve` port for everything.

    GET /experiment.py      the experiment's source (workers import the same file)
    GET /web/..., ...       static files (server/static.py)
    /ws                     the workers' websocket (binary frames, docs/protocol.md)

`compression=None` (permessage-deflate costs ~10x on float payloads) and a deliberate
`max_size` (64 MiB by default: a ResNet-18 float32 gradient is ~45 MB). The orchestrator
sees each connection as a `Peer` with send/recv/close, the same three calls the worker's
transport adapter has.
"""
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from distml.distributed.worker import TransportClosed
from server.static import MIME_TYPES, StaticFiles, _path_only

DEFAULT_MAX_SIZE = 64 << 20


class Peer:
    """One worker connection as the orchestrator sees it."""

    def __init__(self, ws):
        self.ws = ws
        try:
            host, port = ws.remote_address[:2]
            self.address = f"{host}:{port}"
        except (TypeError, ValueError):
            self.address = "?"

    async def send(self, data):
        try:
            await self.ws.send(data)
        except ConnectionClosed as e:
            raise TransportClosed(str(e)) from None

    async def recv(self):
        try:
            return await self.ws.recv()
        except ConnectionClosed as e:
            raise TransportClosed(str(e)) from None

    async def close(self, code=1000, reason=""):
        await self.ws.close(code, reason[:100])

    def abort(self):
        """Drop the TCP connection now (a worker that stopped answering)."""
        self.ws.transport.abort()


class ServerFiles(StaticFiles):
    """Static files plus a few fixed routes (path -> (bytes, content type))."""

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
            body, content_type = self.routes[path]
            return self._reply(request.path, 200, body, content_type)
        return self.response(request.path)


class Transport:
    """Serve `handler(peer)` on /ws and files on the same port.

        transport = await Transport(handler, routes={...}).start()
        ... transport.port ...
        await transport.close()
    """

    def __init__(self, handler, host="127.0.0.1", port=0, max_size=DEFAULT_MAX_SIZE,
                 routes=None, mounts=None):
        self.handler, self.host, self.port, self.max_size = handler, host, port, max_size
        self.files = ServerFiles(routes or {}, mounts)
        self.server = None

    async def _on_connection(self, ws):
        await self.handler(Peer(ws))

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
