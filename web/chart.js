// The one chart of every page (the dashboard, the playground): training loss on the left
// axis, test accuracy on the right, drawn by uPlot (npm `uplot`, fetched by `run.sh setup`
// into .cache/vendor and served by our server at /vendor/uplot/: nothing comes from outside).
//
//   import { lossAccuracyChart } from "/web/chart.js";
//   const chart = await lossAccuracyChart(element, { x: "training samples" });
//   chart.set(lossPoints, accuracyPoints, xMax);  // [[x, loss]], [[x, accuracy 0-1]]; the
//                                                 // x axis runs from 0 to xMax (or the data)
//
// Without the vendor files the page still works: the element says the chart is unavailable
// and `set` does nothing (`chart.available` is false).

export const COLORS = { loss: "#1f5fbf", accuracy: "#c0392b" };
const UPLOT = "/vendor/uplot/dist/";

let loading = null;

function loadUPlot() {
  if (globalThis.uPlot) return Promise.resolve(globalThis.uPlot);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = UPLOT + "uPlot.min.css";
    document.head.appendChild(css);
    const script = document.createElement("script");
    script.src = UPLOT + "uPlot.iife.min.js";
    script.onload = () => (globalThis.uPlot ? resolve(globalThis.uPlot)
      : reject(new Error("uPlot did not define itself")));
    script.onerror = () => reject(new Error(`${script.src} is missing`));
    document.head.appendChild(script);
  });
  return loading;
}

/** Merge [[x, loss]] and [[x, accuracy]] into uPlot's columns: [xs, losses, accuracies]. */
export function columns(loss, accuracy) {
  const byX = new Map();
  for (const [x, v] of loss) byX.set(x, [v, null]);
  for (const [x, v] of accuracy) byX.set(x, [byX.has(x) ? byX.get(x)[0] : null, v]);
  const xs = [...byX.keys()].sort((a, b) => a - b);
  return [xs, xs.map((x) => byX.get(x)[0]), xs.map((x) => byX.get(x)[1])];
}

/** The accuracy axis: from the tens of percent below the lowest point (at most 90 %) to
 * 100 %, so the last percent stays readable. */
function accuracyRange(u) {
  const values = (u.data[2] || []).filter((v) => v != null);
  const low = Math.min(0.9, ...values.map((v) => Math.floor(v * 10) / 10));
  return [Math.max(0, low), 1];
}

export async function lossAccuracyChart(element, { x = "training samples", height = 300 } = {}) {
  let uPlot;
  try {
    uPlot = await loadUPlot();
  } catch (e) {
    element.classList.add("chart-unavailable");
    element.textContent = `chart unavailable: ${e.message} (run \`bash run.sh setup\`, ` +
      "which fetches uPlot into .cache/vendor)";
    return { available: false, set() {} };
  }
  const width = () => Math.max(300, element.clientWidth || 600);
  let xMax = 0;
  const opts = {
    width: width(), height,
    scales: { x: { time: false, range: (u, min, max) => [0, Math.max(1, max || 0, xMax)] },
              loss: { range: (u, min, max) => [0, Math.max(1e-3, max)] },
              acc: { range: accuracyRange } },
    axes: [
      { label: x, values: (u, ticks) => ticks.map((t) => t.toLocaleString()) },
      { scale: "loss", label: "training loss", stroke: COLORS.loss },
      { scale: "acc", side: 1, label: "test accuracy", stroke: COLORS.accuracy,
        grid: { show: false }, values: (u, ticks) => ticks.map((t) => `${(100 * t).toFixed(1)}%`) },
    ],
    series: [
      { label: x, value: (u, v) => (v == null ? "-" : v.toLocaleString()) },
      { label: "training loss", scale: "loss", stroke: COLORS.loss, width: 1.5, spanGaps: true,
        points: { show: false }, value: (u, v) => (v == null ? "-" : v.toFixed(4)) },
      { label: "test accuracy", scale: "acc", stroke: COLORS.accuracy, width: 1.5,
        spanGaps: true, points: { show: true, size: 7, fill: COLORS.accuracy },
        value: (u, v) => (v == null ? "-" : `${(100 * v).toFixed(2)}%`) },
    ],
    legend: { live: false },
  };
  const plot = new uPlot(opts, [[], [], []], element);
  new ResizeObserver(() => plot.setSize({ width: width(), height })).observe(element);
  return {
    available: true,
    plot,
    set(loss, accuracy, xmax = 0) {
      xMax = xmax || 0;
      plot.setData(columns(loss, accuracy));
    },
  };
}
