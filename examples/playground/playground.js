// The playground: an editable Python script (CodeMirror 5 when /vendor/codemirror/ is
// there, else the plain textarea), Run/Stop (Ctrl/Cmd-Enter runs), its output and the live
// chart of web/chart.js (the dashboard's: loss left, test accuracy right). Python runs in
// the distml worker (web/worker.js); the script calls distml.web.report(step=...,
// max_steps=..., loss=..., accuracy=..., samples_per_s=...) for the chart and the stats.
import { lossAccuracyChart } from "/web/chart.js";
import { startPython } from "/web/distml.js";

const $ = (id) => document.getElementById(id);
const output = $("output"), status = $("status");
const runButton = $("run"), stopButton = $("stop");
const points = [];  // {step, max_steps?, loss?, accuracy?, samples_per_s?}

// the editor: CodeMirror over the textarea, or the textarea itself
const editor = globalThis.CodeMirror ? globalThis.CodeMirror.fromTextArea($("code"), {
  mode: "python", lineNumbers: true, indentUnit: 4, matchBrackets: true,
  extraKeys: { "Ctrl-Enter": () => runButton.click(), "Cmd-Enter": () => runButton.click(),
               Tab: (cm) => cm.execCommand(cm.somethingSelected() ? "indentMore" : "insertSoftTab") },
}) : null;
if (!editor) {
  $("editor-note").textContent = "(plain editor: /vendor/codemirror/ is missing; " +
    "`bash run.sh setup` fetches CodeMirror)";
  $("code").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runButton.click(); }
  });
}
const getCode = () => (editor ? editor.getValue() : $("code").value);
const setCode = (text) => (editor ? editor.setValue(text) : ($("code").value = text));

window.playground = { state: "starting", points, output: () => output.textContent,
                      getCode, setCode, editor: editor ? "codemirror" : "textarea" };

const chart = await lossAccuracyChart($("chart"), { x: "step", height: 300 });

function append(text) {
  output.textContent += text;
  output.scrollTop = output.scrollHeight;
}

const last = (key) => [...points].reverse().find((p) => key in p)?.[key];

function onMetric(m) {
  points.push(m);
  const parts = [];
  const step = last("step"), total = last("max_steps");
  if (step !== undefined) parts.push(total ? `step ${step} of ${total}` : `step ${step}`);
  if (last("loss") !== undefined) parts.push(`loss ${last("loss").toFixed(4)}`);
  if (last("samples_per_s") !== undefined) parts.push(`${last("samples_per_s").toFixed(1)} samples/s`);
  if (last("accuracy") !== undefined) parts.push(`test accuracy ${(100 * last("accuracy")).toFixed(2)}%`);
  $("stats").textContent = parts.join(" · ") || "\u00a0";
  draw();
}

function draw() {
  chart.set(points.filter((p) => "loss" in p).map((p) => [p.step, p.loss]),
            points.filter((p) => "accuracy" in p).map((p) => [p.step, p.accuracy]),
            last("max_steps") || 0);
}

async function main() {
  const [py, script] = await Promise.all([
    startPython({ onOutput: (_, text) => append(text), onMetric, timeout: 24 * 3600 * 1000 }),
    fetch("mnist_cnn.py").then((r) => r.text()),
  ]);
  if (!getCode()) setCode(script);
  status.textContent = `Python ${py.info.python}, distml ${py.info.distml} ` +
    `(started in ${py.info.seconds.toFixed(1)} s)`;
  window.playground.state = "ready";
  runButton.disabled = false;

  runButton.onclick = async () => {
    if (runButton.disabled) return;  // Ctrl-Enter while a script runs
    runButton.disabled = true;
    stopButton.disabled = !py.interrupt;
    points.length = 0;
    output.textContent = "";
    $("stats").textContent = "\u00a0";
    draw();
    window.playground.state = "running";
    try {
      await py.run(getCode());
      window.playground.state = "done";
    } catch (e) {
      append("\n" + (e.traceback || e.message) + "\n");
      window.playground.state = "error";
    } finally {
      runButton.disabled = false;
      stopButton.disabled = true;
    }
  };
  // Stop raises KeyboardInterrupt in the script (needs the page to be cross-origin
  // isolated, which our server arranges, so the worker can share an interrupt buffer)
  stopButton.onclick = () => Atomics.store(py.interrupt, 0, 2);
}

main().catch((e) => {
  status.textContent = "failed to start: " + e.message;
  window.playground.state = "error";
});
