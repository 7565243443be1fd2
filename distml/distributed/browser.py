"""The browser side of a worker: the transport adapter over the page's `WebSocket`.

    from distml.distributed.browser import run_browser_worker
    await run_browser_worker("ws://host:port/ws", token)     # inside the page (Pyodide)

The Worker class is the same as on CPython; only these three calls differ. Messages arrive
through JS callbacks (proxies) that feed an asyncio.Queue, which Pyodide's event loop
(the browser's) drains.
"""
import asyncio

from .worker import TransportClosed, Worker


class BrowserTransport:
    def __init__(self, ws, queue, proxies):
        self.ws, self.queue, self.proxies = ws, queue, proxies

    @classmethod
    async def connect(cls, url, open_timeout=10.0):
        import js
        from pyodide.ffi import create_proxy
        loop = asyncio.get_event_loop()
        queue, opened = asyncio.Queue(), loop.create_future()
        ws = js.WebSocket.new(url)
        ws.binaryType = "arraybuffer"

        def on_open(event):
            if not opened.done():
                opened.set_result(True)

        def on_message(event):
            data = event.data
            queue.put_nowait(data.encode() if isinstance(data, str)
                             else js.Uint8Array.new(data).to_bytes())

        def on_close(event):
            queue.put_nowait(None)  # wakes a pending recv(), which then raises
            if not opened.done():
                opened.set_exception(TransportClosed(f"cannot connect to {url} "
                                                     f"(close code {event.code})"))

        proxies = [create_proxy(f) for f in (on_open, on_message, on_close)]
        ws.onopen, ws.onmessage, ws.onclose = proxies
        try:
            await asyncio.wait_for(opened, open_timeout)
        except asyncio.TimeoutError:
            ws.close()
            raise TransportClosed(f"cannot connect to {url}: timed out") from None
        return cls(ws, queue, proxies)

    async def send(self, data):
        from pyodide.ffi import to_js
        if self.ws.readyState != 1:  # OPEN
            raise TransportClosed("the websocket is closed")
        self.ws.send(to_js(bytes(data)))

    async def recv(self):
        data = await self.queue.get()
        if data is None:
            self.queue.put_nowait(None)  # every later recv() fails too
            raise TransportClosed("the server closed the websocket")
        return data

    async def close(self):
        self.ws.close()


async def fetch(path):
    from distml.web import fetch_bytes
    return fetch_bytes(path)


async def run_browser_worker(url, token, name=None, on_status=None):
    """Join the server at `url` from this page and work until it says bye. The worker's
    state (joining, idle, training, with round and samples/s) goes to `on_status`, by
    default to the page as metrics (distml.web.report; web/join.html shows them)."""
    import distml
    from distml.web import report
    on_status = on_status or report
    on_status(state="connecting")
    transport = await BrowserTransport.connect(url)
    worker = Worker(transport, token, fetch, name=name, on_status=on_status,
                    capabilities={"browser": True, "webgl": distml.webgl.is_available()})
    reason = await worker.run()
    return {"reason": reason, "rounds": worker.rounds_done, "errors": worker.errors,
            "worker_id": worker.worker_id}
