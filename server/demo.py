"""One-command demo: the parameter server plus N headless Chromium workers on this machine.

    python -m server.demo [--workers 2] [--port 8000] [EXPERIMENT.py] [server flags]
    bash run.sh demo [--workers N]         # the same, after setup and a fresh wheel

Each headless Chromium opens the server's own worker page (/worker, web/join.html), which
boots Pyodide, installs distml and trains on WebGL (SwiftShader here) when it is
available. Every browser is its own process (its own GPU process too, so two of them use
both cores). `--workers 0` starts no browser and waits for real ones: open the printed
URL. The server prints progress and the dashboard's URL, evaluates on the test set, and
the demo closes the browsers when training ends (or on Ctrl-C).
"""
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from .__main__ import add_arguments, check_arguments, prog_name, start
from .cli import ArgumentParser, UsageError, fail
from .static import HERE, ROOT, _first, pyodide_dir, wheels_dir

# examples/ in a checkout; the wheel ships this one experiment inside distml/server
EXPERIMENT = _first(ROOT / "examples" / "mnist_distributed.py",
                    HERE / "examples" / "mnist_distributed.py")
CHROMIUM = os.environ.get("DISTML_CHROMIUM", "/usr/bin/chromium")
# headless Debian Chromium with WebGL2 on SwiftShader (tests/browser/harness.py, DESIGN.md)
CHROMIUM_FLAGS = [
    "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--use-gl=angle",
    "--ignore-gpu-blocklist", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
]


class HeadlessWorker:
    """One Chromium process with the worker page open."""

    def __init__(self, pw, name, url, say):
        self.pw, self.name, self.url, self.say = pw, name, url, say
        self.context = self.page = None
        self.profile = tempfile.mkdtemp(prefix="distml-demo-")
        self.reported = False

    async def start(self):
        self.context = await self.pw.chromium.launch_persistent_context(
            self.profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            timeout=60_000)
        self.page = self.context.pages[0] if self.context.pages else \
            await self.context.new_page()
        self.page.on("pageerror", lambda e: self.say(f"{self.name}: page error: {e}"))
        await self.page.goto(self.url, wait_until="commit")
        return self

    async def state(self):
        try:
            return await self.page.evaluate("window.distmlWorker || null")
        except Exception:  # the page is gone or navigating
            return None

    async def close(self):
        try:
            if self.context is not None:
                await self.context.close()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


async def watch(orch, browsers, say, rates):
    """Say once when a browser's worker fails (the server carries on with the rest); keep
    each worker's last samples/s for the summary. Returns when every browser failed."""
    while not all(b.reported for b in browsers) or orch.live():
        await asyncio.sleep(2)
        for m in orch.live():
            if m.samples_per_s is not None:
                rates[m.name or m.id] = m.samples_per_s
        for b in browsers:
            s = await b.state()
            if s and s.get("state") == "error" and not b.reported:
                b.reported = True
                say(f"{b.name}: the worker page failed:\n{s.get('error')}")


def missing_requirements(n_workers, pyodide=None):
    missing = []
    if not list(wheels_dir().glob("distml-*.whl")):
        missing.append("no wheels/distml-*.whl (bash run.sh wheel)")
    if not (pyodide_dir(pyodide) / "pyodide.mjs").is_file():
        missing.append(f"no Pyodide in {pyodide_dir(pyodide)} (bash run.sh setup, or "
                       f"--pyodide-dir)")
    if n_workers and not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} is missing (bash run.sh setup)")
    return missing


async def amain(args):
    overrides = {"min_workers": args.workers} if args.workers and args.min_workers is None \
        else {}
    orch, transport = await start(args, overrides)
    say = orch._log  # keeps the progress bar's line intact
    base = f"http://{args.host}:{transport.port}"
    join = f"{base}/worker?token={args.workers_token}"
    print(f"dashboard: {base}/?token={args.workers_token}", flush=True)
    if args.workers:
        print(f"starting {args.workers} headless Chromium workers (more can join: {join})",
              flush=True)
    else:
        print(f"waiting for workers: open {join} in a browser (add --host 0.0.0.0 for "
              f"other machines)", flush=True)
    t0 = time.monotonic()
    pw, browsers, watcher, rates = None, [], None, {}
    try:
        if args.workers:
            from playwright.async_api import async_playwright
            pw = await async_playwright().start()
            browsers = [HeadlessWorker(pw, f"headless-{i + 1}",
                                       f"{join}&name=headless-{i + 1}", say)
                        for i in range(args.workers)]
            await asyncio.gather(*(b.start() for b in browsers))
            watcher = asyncio.create_task(watch(orch, browsers, say, rates))
        training = asyncio.create_task(orch.run())
        await asyncio.wait([training] + ([watcher] if watcher else []),
                           return_when=asyncio.FIRST_COMPLETED)
        if not training.done():
            training.cancel()
            raise SystemExit("every headless worker failed; stopping")
        training.result()
    finally:
        if watcher is not None:
            watcher.cancel()
        await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
        if pw is not None:
            await pw.stop()
        await transport.close()
    wall = time.monotonic() - t0
    seen = orch.samples_seen()
    train_s = sum(h["seconds"] for h in orch.history)
    if orch.accuracy:
        print(f"test accuracy {orch.accuracy[-1][1] * 100:.2f}% after {seen:,} samples "
              f"({orch.round} rounds); wall time {wall:.0f} s, of which training "
              f"{train_s:.0f} s ({seen / max(train_s, 1e-9):.1f} samples/s)", flush=True)
    if rates:
        print("last samples/s per worker: " + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()),
              flush=True)
    return orch


def main(argv=None):
    ap = ArgumentParser(prog=prog_name(__spec__.name if __spec__ else "server.demo"),
                        description="The parameter server with headless Chromium "
                                    "workers on this machine.")
    ap.add_argument("experiment", nargs="?", default=str(EXPERIMENT.relative_to(Path.cwd()))
                    if EXPERIMENT.is_relative_to(Path.cwd()) else str(EXPERIMENT))
    ap.add_argument("--workers", type=int, default=2,
                    help="headless Chromium workers to start (0: wait for real browsers)")
    add_arguments(ap)
    args = ap.parse_args(argv)
    check_arguments(ap, args)
    missing = missing_requirements(args.workers, args.pyodide_dir)
    if missing:
        ap.exit(2, f"{ap.prog}: error: " + "; ".join(missing) + "\n")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    try:
        asyncio.run(amain(args))
    except UsageError as e:
        return fail(ap.prog, e)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
