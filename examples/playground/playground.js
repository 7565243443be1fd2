// The playground: an editable Python script, Run/Stop, its output and a live chart.
// Python runs in the distml worker (web/worker.js); the script calls
// distml.web.report(step=..., loss=..., accuracy=..., samples_per_s=...) for the chart.
import { startPython } from "/web/distml.js";

const $ = (id) => document.getElementById(id);
const code = $("code"), output = $("output"), status = $("status");
const runButton = $("run"), stopButton = $("stop");
let points = [];  // {step, loss?, accuracy?, samples_per_s?}

window.playground = { state: "starting", points, output: () => output.textContent };

function append(text) {
  output.textContent += text;
  output.scrollTop = output.scrollHeight;
}

function onMetric(m) {
  points.push(m);
  const last = (key) => [...points].reverse().find((p) => key in p)?.[key];
  const parts = [];
  if (last("loss") !== undefined) parts.push(`loss ${last("loss").toFixed(4)}`);
  if (last("accuracy") !== undefined) parts.push(`accuracy ${(100 * last("accuracy")).toFixed(2)}%`);
  if (last("samples_per_s") !== undefined) parts.push(`${last("samples_per_s").toFixed(0)} samples/s`);
  $("stats").textContent = parts.join(" · ");
  draw();
}

function draw() {
  const canvas = $("chart"), g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 40;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#ccc";
  g.strokeRect(pad, 10, w - 2 * pad, h - pad - 10);
  const maxStep = Math.max(1, ...points.map((p) => p.step || 0));
  const losses = points.filter((p) => "loss" in p);
  const maxLoss = Math.max(1e-6, ...losses.map((p) => p.loss));
  const x = (s) => pad + (w - 2 * pad) * s / maxStep;
  const series = (list, y, color) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    list.forEach((p, i) => (i ? g.lineTo : g.moveTo).call(g, x(p.step), y(p)));
    g.stroke();
  };
  series(losses, (p) => 10 + (h - pad - 10) * (1 - p.loss / maxLoss), "#d9534f");
  series(points.filter((p) => "accuracy" in p),
         (p) => 10 + (h - pad - 10) * (1 - p.accuracy), "#2a7ae2");
  g.fillStyle = "#444";
  g.font = "12px sans-serif";
  g.fillText(`loss (max ${maxLoss.toFixed(2)})`, pad + 5, 24);
  g.fillStyle = "#2a7ae2";
  g.fillText("accuracy (0-100%)", w - pad - 110, 24);
  g.fillStyle = "#444";
  g.fillText(`step ${maxStep}`, w - pad - 50, h - pad + 16);
}

async function main() {
  const [py, script] = await Promise.all([
    startPython({ onOutput: (_, text) => append(text), onMetric, timeout: 24 * 3600 * 1000 }),
    fetch("mnist_cnn.py").then((r) => r.text()),
  ]);
  if (!code.value) code.value = script;
  status.textContent = `Python ${py.info.python}, distml ${py.info.distml} ` +
    `(started in ${py.info.seconds.toFixed(1)} s)`;
  window.playground.state = "ready";
  runButton.disabled = false;

  runButton.onclick = async () => {
    runButton.disabled = true;
    stopButton.disabled = !py.interrupt;
    points.length = 0;
    output.textContent = "";
    draw();
    window.playground.state = "running";
    try {
      await py.run(code.value);
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
draw();
