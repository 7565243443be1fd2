"""Python in real headless Chromium: a small Playwright (sync API) harness.

    with BrowserPython() as py:               # static server + Chromium + Pyodide worker
        py.run("import distml; distml.__version__")          # -> "0.1.0"

`run(code, timeout=...)` runs `code` in the page's Pyodide worker (web/test.html, one shared
namespace) and returns the JSON value of its last expression; a Python exception raises
`PagePythonError` with the page's traceback, a call that outlives `timeout` raises
`PageTimeout` (the page interrupts it, or restarts the worker). Console errors and page
errors are collected in `console_errors`. Everything is closed on exit, also on failure.

Chromium is Debian's /usr/bin/chromium (Playwright's own browsers are never installed), with
the flags of shared/DESIGN.md: a fresh user-data-dir, no sandbox, WebGL2 through ANGLE on
SwiftShader, and no background networking (the machine has no internet).
"""
import copy
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DISTML_CHROMIUM", "/usr/bin/chromium")
PYODIDE_DIST = ROOT / ".cache" / "pyodide" / "dist"
if str(ROOT) not in sys.path:  # the `server` package lives at the repository root
    sys.path.insert(0, str(ROOT))

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--use-gl=angle",
    "--ignore-gpu-blocklist",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]


class PagePythonError(AssertionError):
    """Python raised in the page; str() holds the page's traceback."""

    def __init__(self, message, traceback=None, stdout=""):
        self.traceback = traceback
        self.stdout = stdout
        text = traceback.rstrip() if traceback else message
        if stdout:
            text += "\n--- stdout in the page ---\n" + stdout.rstrip()
        super().__init__(f"Python in the page raised:\n{text}")


class PageTimeout(AssertionError):
    """A call into the page did not finish in time."""


def missing_requirements():
    """Why the browser tests cannot run here (a list of reasons, empty when all is there)."""
    reasons = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reasons.append(f"{CHROMIUM} is missing (apt-get install chromium; `bash run.sh setup`)")
    for name in ("pyodide.mjs", "pyodide.asm.wasm", "pyodide-lock.json"):
        if not (PYODIDE_DIST / name).is_file():
            reasons.append(f"{PYODIDE_DIST / name} is missing (`bash run.sh setup`)")
            break
    if not list((ROOT / "wheels").glob("distml-*.whl")):
        reasons.append("no wheels/distml-*.whl (`bash run.sh wheel`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        reasons.append(f"playwright is not importable ({exc}; pip install -e .[dev])")
    return reasons


class BrowserPython:
    """Static server + headless Chromium + web/test.html's Pyodide worker."""

    def __init__(self, start_timeout=120.0, call_timeout=60.0, headless=True):
        self.start_timeout = start_timeout
        self.call_timeout = call_timeout
        self.headless = headless
        self.console_errors = []
        self.info = None
        self._ids = itertools.count(1)
        self._server = self._pw = self._context = self.page = None
        self._profile = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self):
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self):
        from playwright.sync_api import sync_playwright

        from server.static import ServerThread

        self._server = ServerThread(host="127.0.0.1", port=0).start()
        self._profile = tempfile.mkdtemp(prefix="distml-chromium-")
        self._pw = sync_playwright().start()
        self._context = self._pw.chromium.launch_persistent_context(
            self._profile, executable_path=CHROMIUM, headless=self.headless,
            args=CHROMIUM_FLAGS, timeout=60_000)
        self.page = self._context.pages[0] if self._context.pages else self._context.new_page()
        self._load("")

    def _load(self, query):
        """Open web/test.html (with extra parameters `query`) in self.page, wait for Python."""
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        t0 = time.monotonic()
        timeout_ms = int(self.call_timeout * 1000)
        # commit: the worker does the heavy lifting, but do not wait on the load event
        self.page.goto(f"{self._server.url}/web/test.html?timeout={timeout_ms}{query}",
                       wait_until="commit", timeout=30_000)
        try:
            self.page.wait_for_function("() => window.distmlStatus && "
                                        "window.distmlStatus !== 'loading'",
                                        timeout=self.start_timeout * 1000, polling=100)
        except Exception as exc:
            raise PageTimeout(f"Pyodide did not start within {self.start_timeout} s; "
                              f"console errors: {self.console_errors}") from exc
        status = self.page.evaluate("window.distmlStatus")
        if status != "ready":
            raise RuntimeError(f"the page failed to start Python: {status}; "
                               f"console errors: {self.console_errors}")
        self.info = self.page.evaluate("window.distmlReady")
        self.info["page_seconds"] = time.monotonic() - t0

    def open_page(self, query, init_script=None):
        """A second page of the same browser, web/test.html?...&query (e.g. "mainthread=1"),
        behind the same run()/call(); its close() closes only that page. `init_script` runs
        in the page before its own scripts (e.g. to take an API away)."""
        view = copy.copy(self)
        view.console_errors, view._ids = [], itertools.count(1)
        view.page = self._context.new_page()
        view.close = view.page.close
        try:
            if init_script:
                view.page.add_init_script(init_script)
            view._load(f"&{query}")
        except BaseException:
            view.page.close()
            raise
        return view

    def close(self):
        for step in (lambda: self._context and self._context.close(),
                     lambda: self._pw and self._pw.stop(),
                     lambda: self._server and self._server.stop()):
            try:
                step()
            except Exception:  # keep closing the rest
                pass
        self._context = self._pw = self._server = self.page = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def url(self):
        return self._server.url

    def _on_console(self, msg):
        if msg.type == "error":
            self.console_errors.append(msg.text)

    # -- calls -----------------------------------------------------------------------------

    def call(self, code, timeout=None):
        """Run `code` in the page; the raw outcome {ok, result, stdout, stderr, error,
        traceback, timeout} (never raises for Python errors)."""
        timeout = self.call_timeout if timeout is None else timeout
        key = f"c{next(self._ids)}"
        self.page.evaluate(
            """([key, code, ms]) => {
                window.__distmlCalls = window.__distmlCalls || {};
                window.__distmlCalls[key] = null;
                window.distmlCall(code, ms).then((r) => { window.__distmlCalls[key] = r; });
            }""", [key, code, int(timeout * 1000)])
        # the page times the call out itself (interrupt, then worker restart after 3 s);
        # this outer limit only guards against a wedged page
        try:
            handle = self.page.wait_for_function(
                "(key) => window.__distmlCalls[key]", arg=key,
                timeout=(timeout + 30) * 1000, polling=50)
        except Exception as exc:
            raise PageTimeout(f"the page did not answer within {timeout + 30:.0f} s "
                              f"(console errors: {self.console_errors})") from exc
        outcome = handle.json_value()
        self.page.evaluate("(key) => { delete window.__distmlCalls[key]; }", key)
        return outcome

    def run(self, code, timeout=None):
        """Run `code` in the page; the JSON value of its last expression."""
        outcome = self.call(code, timeout)
        if outcome["timeout"]:
            detail = f"\n{outcome['traceback'].rstrip()}" if outcome.get("traceback") else ""
            raise PageTimeout(f"{outcome['error']}{detail}")
        if not outcome["ok"]:
            raise PagePythonError(outcome["error"], outcome.get("traceback"),
                                  outcome.get("stdout", ""))
        return outcome["result"]


# Code for the page: fetch the conformance package's files (the runner and the cases/
# package; listed here on the host) from the server (/conformance/...) into its file system
# and import them as the package `conformance`, as the host does (fresh modules each time,
# so a page reused by several tests sees the current files).
CONFORMANCE_DIR = ROOT / "tests" / "conformance"
CONFORMANCE_FILES = sorted(p.relative_to(CONFORMANCE_DIR).as_posix()
                           for p in CONFORMANCE_DIR.rglob("*.py"))
LOAD_CONFORMANCE = (
    "import os, sys\n"
    "from pyodide.http import pyfetch\n"
    f"for name in {CONFORMANCE_FILES!r}:\n"
    "    path = '/tmp/distml_conf/conformance/' + name\n"
    "    os.makedirs(os.path.dirname(path), exist_ok=True)\n"
    "    resp = await pyfetch('/conformance/' + name)\n"
    "    assert resp.ok, (name, resp.status)\n"
    "    with open(path, 'w') as fh:\n"
    "        fh.write(await resp.string())\n"
    "if '/tmp/distml_conf' not in sys.path:\n"
    "    sys.path.insert(0, '/tmp/distml_conf')\n"
    "import importlib; importlib.invalidate_caches()\n"
    "for mod in [m for m in sys.modules if m.split('.')[0] == 'conformance']:\n"
    "    del sys.modules[mod]\n"
    "from conformance import runner\n"
    "runner.__file__")
