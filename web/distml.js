// distml in the page: a tiny main-thread API over the Pyodide worker (web/worker.js).
//
//   import { startPython } from "/web/distml.js";
//   const py = await startPython({ wheel: "/wheels/distml-0.1.0-py3-none-any.whl" });
//   const value = await py.run("import distml; distml.__version__");   // "0.1.0"
//
// Python code in the worker sends metrics to the page with distml.web.report(loss=...),
// delivered to `onMetric`.
// `run(code, {timeout, onOutput})` resolves with the JSON value of the code's last
// expression, or rejects with an Error whose `.traceback` is the Python traceback.
// Calls run one at a time in a shared global namespace. On timeout the call is
// interrupted (KeyboardInterrupt, when the page is cross-origin isolated so it can share
// an interrupt buffer); a worker that does not answer within `grace` ms after that is
// terminated and a fresh one started (its namespace is lost). The grace is long (10 s):
// a KeyboardInterrupt usually answers in milliseconds, but a worker starved of CPU (two
// slow vCPUs shared with SwiftShader's threads) once took over 3 s, and a restart loses
// the user's namespace.
//
// Main-thread fallback: where a module Worker with WebGL2 on an OffscreenCanvas is not
// available (see `workerSupport()`), or with `startPython({mainThread: true})` (test.html:
// `?mainthread=1`), the same runtime (web/runtime.js) runs on the page's main thread behind
// the same API; `py.info.mode` says "worker" or "main-thread". There, Python blocks the page
// while it runs, and a timeout only takes effect when the call awaits (a busy loop cannot be
// interrupted); the page defines `globalThis.distmlCreateCanvas()` (a DOM canvas) for a
// WebGL helper that cannot use OffscreenCanvas.

import { createRuntime } from "./runtime.js";

const here = new URL(".", import.meta.url);

export class PythonError extends Error {
  constructor(traceback, stdout) {
    const lines = traceback.trim().split("\n");
    super(lines[lines.length - 1] || "Python error");
    this.name = "PythonError";
    this.traceback = traceback;
    this.stdout = stdout;
  }
}

export class TimeoutError extends Error {
  constructor(message, traceback) {
    super(message);
    this.name = "TimeoutError";
    this.traceback = traceback || null;
  }
}

/** The URL of the newest distml wheel the server has (GET /wheels/latest.json). */
export async function latestWheel(base = "/wheels/latest.json") {
  const r = await fetch(base, { cache: "no-store" });
  if (!r.ok) throw new Error(`${base}: HTTP ${r.status} ${await r.text()}`);
  return new URL((await r.json()).wheel, new URL(base, location.href)).href;
}

/** Throws a clear Error when the server has no Pyodide (an installed server started
 * without --pyodide-dir) instead of a failed module import later. */
export async function checkPyodide(indexURL = "/pyodide/") {
  const url = new URL("pyodide.mjs", new URL(indexURL, location.href)).href;
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) {
    throw new Error(`Pyodide is not available on this server (GET ${url}: HTTP ${r.status}). ` +
      "Start the server with --pyodide-dir DIR, a folder holding Pyodide 314.0.7 " +
      "(`bash run.sh setup` makes one in .cache/pyodide/dist; see the README, " +
      "\"Installed with pip\").");
  }
}

/** Why Pyodide cannot run in a Web Worker with WebGL2 here: null when it can, else a
 * reason string (then startPython falls back to the main thread). */
export function workerSupport() {
  if (typeof Worker === "undefined") return "no Web Worker";
  if (typeof OffscreenCanvas === "undefined") return "no OffscreenCanvas";
  try {
    const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
    if (!gl) return "no WebGL2 on OffscreenCanvas";
    const lose = gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();  // free the probe's context
  } catch (e) {
    return `OffscreenCanvas WebGL2 failed: ${e}`;
  }
  return null;
}

/** A DOM canvas for WebGL on the main thread (no OffscreenCanvas needed). */
function domCanvas() {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  return canvas;
}

/** The main-thread fallback: web/runtime.js behind a Worker's interface (postMessage,
 * onmessage, onerror, terminate), so class Python drives both the same way. */
class MainThreadWorker {
  constructor() {
    this.onmessage = null;
    this.onerror = null;
    this.closed = false;
    this.runtime = createRuntime((msg) => this._deliver(msg), "main-thread");
    // distml.web.report() calls the global postMessage: on the main thread that is the
    // window's, so its metrics arrive as window "message" events
    this._onWindowMessage = (e) => {
      if (e.source === window && e.data && e.data.type === "metric") this._deliver(e.data);
    };
    window.addEventListener("message", this._onWindowMessage);
    if (typeof globalThis.distmlCreateCanvas !== "function") {
      globalThis.distmlCreateCanvas = domCanvas;
    }
  }

  _deliver(msg) {
    if (!this.closed && this.onmessage) this.onmessage({ data: msg });
  }

  postMessage(msg) {
    // asynchronously, like a worker: the caller's timers are armed first
    setTimeout(() => {
      if (!this.closed) this.runtime.handle(msg);
    }, 0);
  }

  terminate() {
    // Pyodide on the main thread cannot be stopped: drop its messages from now on
    this.closed = true;
    window.removeEventListener("message", this._onWindowMessage);
  }
}

class Python {
  constructor(options) {
    this.options = options;
    this.nextId = 1;
    this.queue = Promise.resolve();
    this.onOutput = options.onOutput || null;  // (kind, text) for every streamed chunk
    this.onMetric = options.onMetric || null;  // (metrics object) for Python's report()
    this.interrupt = self.crossOriginIsolated
      ? new Int32Array(new SharedArrayBuffer(4)) : null;
    this.info = null;
  }

  async _boot() {
    const { wheel, indexURL, startTimeout, mainThread } = this.options;
    this.worker = mainThread ? new MainThreadWorker()
      : new Worker(new URL("worker.js", here), { type: "module" });
    this.pending = new Map();
    this.worker.onmessage = (e) => this._onMessage(e.data);
    const ready = new Promise((resolve, reject) => {
      this._ready = { resolve, reject };
    });
    this.worker.onerror = (e) => {
      const err = new Error(`worker error: ${e.message || e}`);
      if (this._ready) this._ready.reject(err);
      for (const call of this.pending.values()) call.reject(err);
      this.pending.clear();
    };
    this.worker.postMessage({
      type: "init", wheel, interruptBuffer: this.interrupt,
      indexURL: new URL(indexURL, location.href).href,
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(
        `Python did not start within ${startTimeout / 1000} s`)), startTimeout);
    });
    try {
      this.info = await Promise.race([ready, timeout]);
      this.info.fallbackReason = this.options.fallbackReason;  // null in a worker
    } finally {
      clearTimeout(timer);
      this._ready = null;
    }
    return this;
  }

  _onMessage(msg) {
    if (msg.type === "ready") {
      if (this._ready) this._ready.resolve(msg);
    } else if (msg.type === "init-error") {
      if (this._ready) this._ready.reject(new Error("Python failed to start: " + msg.error));
    } else if (msg.type === "stdout" || msg.type === "stderr") {
      if (this.onOutput) this.onOutput(msg.type, msg.text);
      const call = this.pending.get(msg.id);
      if (call && call.onOutput) call.onOutput(msg.type, msg.text);
    } else if (msg.type === "metric") {
      if (this.onMetric) this.onMetric(msg.metrics);
    } else if (msg.type === "result") {
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      if (msg.error !== null) {
        const err = new PythonError(msg.error, msg.stdout);
        call.reject(err);
      } else {
        call.resolve(msg);
      }
    }
  }

  /** Run Python `code`; resolves with the JSON value of its last expression. */
  run(code, { timeout = this.options.timeout, onOutput = null, full = false } = {}) {
    const go = () => this._run(code, timeout, onOutput).then((msg) => (full ? msg : msg.result));
    const result = this.queue.then(go, go);
    this.queue = result.catch(() => {});
    return result;
  }

  async _run(code, timeout, onOutput) {
    const id = this.nextId++;
    const reply = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onOutput });
    });
    this.worker.postMessage({ id, code });
    let timer;
    const expired = new Promise((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout);
    });
    try {
      const first = await Promise.race([reply, expired]);
      if (first !== "timeout") return first;
    } finally {
      clearTimeout(timer);
    }
    // timed out: ask Python to stop (KeyboardInterrupt), else replace the worker
    const what = `Python call timed out after ${timeout / 1000} s`;
    if (this.interrupt) {
      Atomics.store(this.interrupt, 0, 2);  // SIGINT
      const grace = new Promise((resolve) => {
        timer = setTimeout(() => resolve("timeout"), this.options.grace);
      });
      try {
        const second = await Promise.race([reply.catch((e) => e), grace]);
        if (second !== "timeout") {
          const tb = second instanceof PythonError ? second.traceback : null;
          throw new TimeoutError(`${what} (interrupted)`, tb);
        }
      } finally {
        clearTimeout(timer);
        Atomics.store(this.interrupt, 0, 0);
      }
    }
    this.pending.delete(id);
    await this.restart();
    throw new TimeoutError(`${what}; the worker was restarted (namespace lost)`);
  }

  /** Terminate the worker and boot a fresh one. */
  async restart() {
    this.worker.terminate();
    for (const call of this.pending.values()) call.reject(new Error("worker restarted"));
    this.pending.clear();
    await this._boot();
  }

  terminate() {
    this.worker.terminate();
  }
}

/** Start Python (Pyodide + distml) in a Web Worker, or on the main thread when
 * `mainThread` is true or a worker with OffscreenCanvas WebGL2 is unavailable
 * (`mainThread: false` insists on the worker). */
export async function startPython({
  wheel = null, indexURL = "/pyodide/", timeout = 120000, grace = 10000,
  startTimeout = 120000, onOutput = null, onMetric = null, mainThread = null,
} = {}) {
  await checkPyodide(indexURL);
  wheel = wheel || await latestWheel();
  let fallbackReason = null;
  if (mainThread === null) {
    fallbackReason = workerSupport();
    mainThread = fallbackReason !== null;
    if (mainThread) {
      console.warn(`distml: running Python on the main thread (${fallbackReason})`);
    }
  } else if (mainThread) {
    fallbackReason = "requested";
  }
  const py = new Python({ wheel, indexURL, timeout, grace, startTimeout, onOutput, onMetric,
                          mainThread, fallbackReason });
  return py._boot();
}
