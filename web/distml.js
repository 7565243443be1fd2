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
// terminated and a fresh one started (its namespace is lost).
//
// TODO: a main-thread fallback (Pyodide without a Worker) for browsers lacking module
// workers or OffscreenCanvas; the API would stay the same.

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
    const { wheel, indexURL, startTimeout } = this.options;
    this.worker = new Worker(new URL("worker.js", here), { type: "module" });
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

/** Start Python (Pyodide + distml) in a Web Worker. */
export async function startPython({
  wheel = null, indexURL = "/pyodide/", timeout = 120000, grace = 3000,
  startTimeout = 120000, onOutput = null, onMetric = null,
} = {}) {
  wheel = wheel || await latestWheel();
  const py = new Python({ wheel, indexURL, timeout, grace, startTimeout, onOutput, onMetric });
  return py._boot();
}
