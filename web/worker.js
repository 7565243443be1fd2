// distml's Pyodide worker (a module Web Worker): the runtime of web/runtime.js (boots
// Pyodide, installs the distml wheel, runs code on request; the messages are documented
// there) behind the worker's postMessage. Python's distml.web.report() posts
// {type: "metric", metrics} from here too.
import { createRuntime } from "./runtime.js";

const runtime = createRuntime((msg) => self.postMessage(msg), "worker");
self.onmessage = (event) => runtime.handle(event.data);
