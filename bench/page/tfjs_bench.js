// The TF.js side of bench/browser_bench.py: runs on the page's main thread after
// /vendor/tfjs/tf.min.js (and, for the wasm peer, /vendor/tfjs-wasm/tf-backend-wasm.min.js).
// browser_bench.py adds this file as a script tag, then calls window.tfBench.use(backend)
// and one measurement at a time (matmul, conv, train, eagerOp); each returns a JSON-able
// object.
window.tfBench = (() => {
  const now = () => performance.now() / 1000;

  let asyncRead = true;  // await data() (TF.js's faster read-back here) or dataSync()

  async function read(t) {
    return asyncRead ? (await t.data())[0] : t.dataSync()[0];
  }

  async function syncOne(t) {
    // one element back to JS: waits for every kernel that produced t
    const one = tf.tidy(() => tf.slice(t, new Array(t.rank).fill(0), new Array(t.rank).fill(1)));
    const v = await read(one);
    one.dispose();
    return v;
  }

  async function times(fn, repeats, warmup = 1) {
    let t0 = now();
    for (let i = 0; i < warmup; i++) await fn();
    const warmupS = now() - t0;
    const out = [];
    for (let i = 0; i < repeats; i++) {
      t0 = now();
      await fn();
      out.push(now() - t0);
    }
    return { times: out, warmup_s: warmupS };
  }

  function setRead(mode) {
    asyncRead = mode !== "sync";
  }

  async function use(backend) {
    // "webgl" or "wasm"; every measurement makes its own tensors, so none crosses backends
    if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
      throw new Error(`TF.js backend ${backend} failed to initialise`);
    }
    await tf.ready();
  }

  async function init() {
    await use("webgl");
    const gl = tf.backend().gpgpu.gl;
    const dbg = gl.getExtension("WEBGL_debug_renderer_info");
    const flags = {};
    for (const f of ["WEBGL_VERSION", "WEBGL_PACK", "WEBGL_CONV_IM2COL",
                     "WEBGL_RENDER_FLOAT32_ENABLED", "WEBGL_USE_SHAPES_UNIFORMS"]) {
      try { flags[f] = tf.env().get(f); } catch (e) { flags[f] = String(e); }
    }
    return { version: tf.version.tfjs, backend: tf.getBackend(), flags,
             renderer: dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : null };
  }

  async function initWasm(wasmPaths) {
    // the .wasm binaries from the static server (tf-backend-wasm.min.js picks the SIMD and,
    // on a cross-origin-isolated page, the threaded one); then back to webgl
    tf.wasm.setWasmPaths(wasmPaths);
    await use("wasm");
    const flags = {};
    for (const f of ["WASM_HAS_SIMD_SUPPORT", "WASM_HAS_MULTITHREAD_SUPPORT"]) {
      try { flags[f] = await tf.env().getAsync(f); } catch (e) { flags[f] = String(e); }
    }
    const threads = typeof tf.wasm.getThreadsCount === "function" ? tf.wasm.getThreadsCount()
                                                                  : null;
    const out = { version: tf.version.tfjs, backend: tf.getBackend(), flags, threads };
    await use("webgl");
    return out;
  }

  async function eagerOp(n, size, repeats) {
    // TF.js's cost of one small eager op (x = x + 1 on `size` elements), as distml's
    // bench_eager_op: timed before the read-back (host) and with it
    let x = tf.zeros([size]);
    const step = () => {
      const y = tf.add(x, 1);
      x.dispose();
      x = y;
    };
    for (let i = 0; i < 20; i++) step();
    await read(x);
    const runs = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = now();
      for (let i = 0; i < n; i++) step();
      const t1 = now();
      await read(x);
      runs.push({ host_s: t1 - t0, total_s: now() - t0 });
    }
    x.dispose();
    const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
    return { n, size, runs,
             host_us_per_op: median(runs.map((r) => r.host_s)) / n * 1e6,
             us_per_op_with_read_back: median(runs.map((r) => r.total_s)) / n * 1e6 };
  }

  async function matmul(n, repeats) {
    const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
    const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
    const out = await times(async () => {
      const c = tf.matMul(a, b);
      await syncOne(c);
      c.dispose();
    }, repeats);
    a.dispose(); b.dispose();
    return out;
  }

  async function conv(batch, cin, cout, k, s, p, hw, mode, repeats) {
    const oh = Math.floor((hw + 2 * p - k) / s) + 1;
    const x = tf.randomNormal([batch, hw, hw, cin], 0, 1, "float32", 1);
    const w = tf.mul(tf.randomNormal([k, k, cin, cout], 0, 1, "float32", 2), 0.05);
    const dy = tf.randomNormal([batch, oh, oh, cout], 0, 1, "float32", 3);
    const attrs = { strides: [s, s], pad: p, dataFormat: "NHWC", dilations: [1, 1],
                    dimRoundingMode: undefined };
    let fn;
    if (mode === "forward") {
      fn = () => tf.conv2d(x, w, s, p);
    } else if (mode === "grad_input") {
      fn = () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w },
                                       { ...attrs, inputShape: x.shape });
    } else {
      fn = () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy },
                                       { ...attrs, filterShape: w.shape });
    }
    const shape = mode === "grad_input" ? x.shape : mode === "grad_weight" ? w.shape
                                                 : [batch, oh, oh, cout];
    const probe = fn();
    const ok = probe.shape.join() === shape.join();
    probe.dispose();
    if (!ok) throw new Error(`TF.js ${mode} gave shape ${probe.shape}, expected ${shape}`);
    const out = await times(async () => {
      const y = fn();
      await syncOne(y);
      y.dispose();
    }, repeats);
    x.dispose(); w.dispose(); dy.dispose();
    return out;
  }

  // the models of distml.models, in TF.js layers (NHWC); PyTorch's BatchNorm defaults
  function convBn(x, filters, k, s, relu) {
    x = tf.layers.conv2d({ filters, kernelSize: k, strides: s, padding: "same",
                           useBias: false, kernelInitializer: "heNormal" }).apply(x);
    x = tf.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5 }).apply(x);
    return relu ? tf.layers.reLU().apply(x) : x;
  }

  function resnet18(numClasses) {
    const input = tf.input({ shape: [32, 32, 3] });
    let x = convBn(input, 64, 7, 2, true);
    x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(x);
    let inplanes = 64;
    for (const [planes, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
      for (let b = 0; b < 2; b++) {
        const s = b === 0 ? stride : 1;
        let out = convBn(x, planes, 3, s, true);
        out = convBn(out, planes, 3, 1, false);
        const identity = (s !== 1 || inplanes !== planes) ? convBn(x, planes, 1, s, false) : x;
        x = tf.layers.reLU().apply(tf.layers.add().apply([out, identity]));
        inplanes = planes;
      }
    }
    x = tf.layers.globalAveragePooling2d({}).apply(x);
    x = tf.layers.dense({ units: numClasses }).apply(x);
    return tf.model({ inputs: input, outputs: x });
  }

  function mnistcnn(numClasses) {
    const input = tf.input({ shape: [28, 28, 1] });
    let x = convBn(input, 32, 3, 1, true);
    x = convBn(x, 32, 3, 1, true);
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
    x = convBn(x, 64, 3, 1, true);
    x = convBn(x, 64, 3, 1, true);
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
    x = tf.layers.flatten().apply(x);
    x = tf.layers.dense({ units: 128, activation: "relu" }).apply(x);
    x = tf.layers.dropout({ rate: 0.5 }).apply(x);
    x = tf.layers.dense({ units: numClasses }).apply(x);
    return tf.model({ inputs: input, outputs: x });
  }

  function mlp(numClasses) {
    // distml.models.MLP(784, 32, 10): Linear, ReLU, Linear
    return tf.sequential({ layers: [
      tf.layers.dense({ inputShape: [784], units: 32, activation: "relu" }),
      tf.layers.dense({ units: numClasses }),
    ] });
  }

  const MODELS = {
    resnet18: [resnet18, [32, 32, 3]],
    mnistcnn: [mnistcnn, [28, 28, 1]],
    mlp: [mlp, [784]],
  };

  async function train(model, batch, repeats) {
    const [build, shape] = MODELS[model];
    const net = build(10);
    const opt = tf.train.momentum(0.01, 0.9);
    const x = tf.randomNormal([batch, ...shape], 0, 1, "float32", 1);
    const y = tf.tidy(() => tf.oneHot(
      tf.randomUniform([batch], 0, 10, "float32", 2).floor().toInt(), 10));
    const losses = [];
    const step = async () => {
      const loss = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true })), true);
      losses.push(await read(loss));
      loss.dispose();
    };
    const out = await times(step, repeats, 2);  // 2 warm-ups, as distml's (momentum state)
    const params = net.countParams();
    net.dispose(); opt.dispose(); x.dispose(); y.dispose();
    return { ...out, losses, params, numTensors: tf.memory().numTensors };
  }

  return { init, initWasm, use, setRead, eagerOp, matmul, conv, train };
})();
