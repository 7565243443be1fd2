// distml's Python runtime: boots Pyodide, installs the distml wheel and runs code on
// request. All logic lives in Python; this file only moves messages. It runs in the Pyodide
// Web Worker (web/worker.js) or, as the fallback, on the page's main thread (web/distml.js
// with `mainThread`), with the same messages either way:
//
// Messages in:   {type: "init", indexURL, wheel, interruptBuffer?}   once, first
//                {id, code}                                            run Python
// Messages out:  {type: "ready", python, distml, seconds, mode}       after init
//                {type: "init-error", error}
//                {type: "stdout" | "stderr", id, text}                 streamed output
//                {type: "result", id, result, stdout, stderr, error}   one per {id, code}
// `result` is the value of the code's last expression, passed through Python's
// json.dumps (so it must be JSON-serialisable, NaN/inf excluded); `error` is null or the
// Python traceback text. All calls share one global namespace, like a REPL.
//
//   const runtime = createRuntime((msg) => self.postMessage(msg), "worker");
//   self.onmessage = (event) => runtime.handle(event.data);

// Python side of a call: run `code` in the shared namespace and return JSON text,
// {"ok": true, "value": <last expression>} or {"ok": false, "error": <traceback>}. The
// traceback starts at the caller's code (the frames of this wrapper are dropped) and shows
// its source lines; a KeyboardInterrupt (the page's timeout) is reported the same way.
// stdout/stderr are flushed after every call so the caller sees every print.
const PRELUDE = `
import json as _json, linecache as _linecache, sys as _sys, traceback as _traceback
from pyodide.code import eval_code_async as _eval_code_async

_distml_ns = {"__name__": "__main__"}


def _distml_error(exc):
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<distml-run"):
        tb = tb.tb_next
    return "".join(_traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


async def _distml_run(code, call_id):
    filename = f"<distml-run-{call_id}>"
    _linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        value = await _eval_code_async(code, _distml_ns, filename=filename)
        try:
            return _json.dumps({"ok": True, "value": value}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"the result ({type(value).__name__}) is not "
                            f"JSON-serialisable: {exc}") from None
    except BaseException as exc:  # noqa: BLE001 - reported to the page
        return _json.dumps({"ok": False, "error": _distml_error(exc)})
    finally:
        _sys.stdout.flush()
        _sys.stderr.flush()

_distml_run
`;

/** A runtime that sends its messages with `post(msg)`; `mode` ("worker" | "main-thread")
 * is reported in the "ready" message. */
export function createRuntime(post, mode = "worker") {
  let pyodide = null;
  let runCode = null;
  let current = null;  // {id, stdout: [], stderr: []} of the call in progress
  let interrupt = null;  // Int32Array on a SharedArrayBuffer shared with the page, or null

  function stream(kind) {
    const decoder = new TextDecoder();
    return {
      isatty: false,
      write(buffer) {
        const text = decoder.decode(buffer, { stream: true });
        if (text) {
          if (current) current[kind].push(text);
          post({ type: kind, id: current ? current.id : null, text });
        }
        return buffer.length;
      },
    };
  }

  async function init({ indexURL, wheel, interruptBuffer }) {
    const t0 = performance.now();
    const { loadPyodide } = await import(indexURL + "pyodide.mjs");
    pyodide = await loadPyodide({ indexURL });
    pyodide.setStdout(stream("stdout"));
    pyodide.setStderr(stream("stderr"));
    if (interruptBuffer) {
      interrupt = interruptBuffer;
      pyodide.setInterruptBuffer(interrupt);
    }
    // loadPackage reports a failed integrity check via errorCallback, not by throwing
    const problems = [];
    await pyodide.loadPackage("micropip", { errorCallback: (m) => problems.push(m) });
    if (problems.length) {
      throw new Error("loadPackage('micropip') failed: " + problems.join("; ") +
        " (a sha256 in pyodide-lock.json that is not the file's also shows as a failed " +
        "fetch: `bash run.sh setup` rewrites it)");
    }
    const micropip = pyodide.pyimport("micropip");
    try {
      await micropip.install(new URL(wheel, self.location.href).href);
    } finally {
      micropip.destroy();
    }
    runCode = pyodide.runPython(PRELUDE);
    const info = JSON.parse(pyodide.runPython(
      "import json, sys, distml; json.dumps([sys.version.split()[0], distml.__version__])"));
    return { python: info[0], distml: info[1], seconds: (performance.now() - t0) / 1000,
             mode };
  }

  async function run(id, code) {
    current = { id, stdout: [], stderr: [] };
    if (interrupt) Atomics.store(interrupt, 0, 0);  // a late signal must not hit this call
    let result = null;
    let error = null;
    try {
      const reply = JSON.parse(await runCode(code, id));
      if (reply.ok) result = reply.value;
      else error = reply.error;
    } catch (e) {
      // not expected (the wrapper catches Python errors); a PythonError's message is its
      // formatted traceback
      error = e && e.message ? e.message : String(e);
    }
    const call = current;
    current = null;
    post({
      type: "result", id, result, error,
      stdout: call.stdout.join(""), stderr: call.stderr.join(""),
    });
  }

  // calls run one at a time, in arrival order
  let queue = Promise.resolve();

  function handle(msg) {
    if (msg.type === "init") {
      queue = queue.then(() => init(msg)).then(
        (info) => post({ type: "ready", ...info }),
        (e) => post({ type: "init-error", error: String(e && e.stack || e) }),
      );
      return;
    }
    queue = queue.then(() => run(msg.id, msg.code));
  }

  return { handle };
}
