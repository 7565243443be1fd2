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


_fetched = {}  # path -> the last bytes the page's host served


async def fetch(path):
    """GET path from the page's host; when that host is gone (the gateway that served the
    page died and the worker moved to another), the bytes it served before (the worker
    checks the experiment's hash against the one the new gateway announces)."""
    from distml.web import fetch_bytes
    try:
        _fetched[path] = fetch_bytes(path)
    except Exception:  # a NetworkError from the synchronous request, or an HTTP error
        if path not in _fetched:
            raise
    return _fetched[path]


async def run_browser_worker(url, token, name=None, on_status=None, reconnect=0,
                             backoff_s=0.5, max_backoff_s=8.0, delay_s=0.0):
    """Join the server at `url` from this page and work until it says bye. The worker's
    state (joining, idle, training, with round and samples/s) goes to `on_status`, by
    default to the page as metrics (distml.web.report; web/join.html shows them).

    `url` may be a list (the gateways of `python -m server --ray`): when the connection
    is lost (or cannot be made), each of up to `reconnect` further attempts takes the next
    URL, round robin, waiting only after trying them all: `backoff_s`, doubling up to
    `max_backoff_s` (a restarting gateway or server gets time to come back)."""
    import distml
    from distml.web import report
    on_status = on_status or report
    urls = [url] if isinstance(url, str) else list(url)
    moves, wait, done = [], backoff_s, 0  # done: rounds on earlier connections

    def status(**details):  # the page counts rounds over all connections
        if "rounds" in details:
            details["rounds"] += done
        on_status(**details)

    for attempt in range(reconnect + 1):
        url, worker = urls[attempt % len(urls)], None
        on_status(state="connecting", url=url)
        try:
            transport = await BrowserTransport.connect(url)
            worker = Worker(transport, token, fetch, name=name, on_status=status,
                            delay_s=delay_s, capabilities={
                                "browser": True, "webgl": distml.webgl.is_available()})
            reason = await worker.run()
            return {"reason": reason, "rounds": done + worker.rounds_done,
                    "errors": worker.errors, "worker_id": worker.worker_id, "url": url,
                    "moves": moves}
        except TransportClosed as e:
            if attempt == reconnect:
                raise
            done += worker.rounds_done if worker is not None else 0
            moves.append(str(e))
            if (attempt + 1) % len(urls) == 0:  # tried them all: back off
                await asyncio.sleep(wait)
                wait = min(2 * wait, max_backoff_s)
