// distml's WebGL2 helper: owns one GL context (OffscreenCanvas, so it works in a Web
// Worker) and holds programs and textures by integer handle, so that one op is one call
// from Python. All op logic (which kernel, which uniforms) lives in Python
// (distml/backends/webgl/); this file only talks to GL.
//
// Evaluated once by Python; defines globalThis.distmlGL.
globalThis.distmlGL = (() => {
  const VERTEX = `#version 300 es
in vec2 a_pos;
void main() { gl_Position = vec4(a_pos, 0.0, 1.0); }`;

  let gl = null;
  let canvas = null;
  let lost = false;
  let vbo = null;
  let vshader = null;
  let nextHandle = 1;
  const programs = new Map();   // handle -> {prog, name, uniforms: {name: {loc, type}}}
  const textures = new Map();   // handle -> {tex, fbo, w, h, mrt: keys of mrtFbos using it}
  let readBuf = new Float32Array(4);
  // GL state as last set here: a draw skips the calls that would set it again (each costs
  // ~1 us in Chromium's command buffer; a replay's draws share programs, inputs, sizes)
  let curFbo = null;
  let curProgram = null;
  let curUnit = 0;
  const unitTex = [];  // texture bound to unit k
  let vpW = -1;
  let vpH = -1;

  function bindFbo(f) {
    if (f !== curFbo) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, f);
      curFbo = f;
    }
  }

  function bindTex(tex) {  // on the active unit, outside draws
    gl.bindTexture(gl.TEXTURE_2D, tex);
    unitTex[curUnit] = tex;
  }
  const counters = { textures: 0, bytes: 0, draws: 0, calls: 0, uploads: 0, downloads: 0,
                     programs: 0, mrtFramebuffers: 0 };

  function check(what) {
    if (lost || gl.isContextLost()) {
      lost = true;
      throw new Error(`distml webgl: the WebGL context is lost (during ${what})`);
    }
  }

  function init() {
    counters.calls++;
    const info = { ok: false, errors: [] };
    if (gl) {
      return JSON.stringify(info0());
    }
    try {
      // an OffscreenCanvas works in a Web Worker; a page that runs Python on its main
      // thread (no OffscreenCanvas WebGL2 there) provides a DOM canvas (web/distml.js)
      canvas = typeof globalThis.distmlCreateCanvas === "function"
        ? globalThis.distmlCreateCanvas() : new OffscreenCanvas(1, 1);
      canvas.addEventListener("webglcontextlost", (e) => { lost = true; e.preventDefault(); });
      gl = canvas.getContext("webgl2", { antialias: false, depth: false, stencil: false,
                                         alpha: true, premultipliedAlpha: false,
                                         preserveDrawingBuffer: false,
                                         powerPreference: "high-performance" });
    } catch (e) {
      info.errors.push(`getContext failed: ${e}`);
    }
    if (!gl) {
      info.errors.push("WebGL2 is not available");
      return JSON.stringify(info);
    }
    return JSON.stringify(info0());
  }

  function info0() {
    const info = { ok: true, errors: [] };
    const ext = gl.getExtension("EXT_color_buffer_float");
    const dbg = gl.getExtension("WEBGL_debug_renderer_info");
    info.renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL)
                        : gl.getParameter(gl.RENDERER);
    info.version = gl.getParameter(gl.VERSION);
    info.maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    info.maxTextureUnits = gl.getParameter(gl.MAX_TEXTURE_IMAGE_UNITS);
    info.maxDrawBuffers = Math.min(gl.getParameter(gl.MAX_DRAW_BUFFERS),
                                   gl.getParameter(gl.MAX_COLOR_ATTACHMENTS));
    info.floatRender = !!ext;
    if (!ext) { info.ok = false; info.errors.push("EXT_color_buffer_float is missing"); }
    if (!vbo) {
      vbo = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, vbo);
      // one triangle that covers the viewport (clipped to it), not a two-triangle quad:
      // SwiftShader shades the 2x2 pixel quads along a quad's diagonal once per triangle,
      // so thin targets (a matmul's 196x4) paid up to 1.5x their fragments
      gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
      // the one vertex layout of every draw: set once (attribute state is global state)
      gl.enableVertexAttribArray(0);
      gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
      vshader = gl.createShader(gl.VERTEX_SHADER);
      gl.shaderSource(vshader, VERTEX);
      gl.compileShader(vshader);
      gl.disable(gl.DEPTH_TEST);
      gl.disable(gl.BLEND);
      gl.disable(gl.DITHER);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
    }
    if (ext) {  // a float framebuffer must really be complete
      const t = gl.createTexture();
      bindTex(t);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, 1, 1);
      const f = gl.createFramebuffer();
      bindFbo(f);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t, 0);
      const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
      if (status !== gl.FRAMEBUFFER_COMPLETE) {
        info.ok = false;
        info.floatRender = false;
        info.errors.push(`RGBA32F framebuffer incomplete (0x${status.toString(16)})`);
      }
      bindFbo(null);
      gl.deleteFramebuffer(f);
      gl.deleteTexture(t);
    }
    return info;
  }

  function compile(name, source) {
    counters.calls++;
    check(`compile ${name}`);
    const fs = gl.createShader(gl.FRAGMENT_SHADER);
    gl.shaderSource(fs, source);
    gl.compileShader(fs);
    if (!gl.getShaderParameter(fs, gl.COMPILE_STATUS)) {
      const log = gl.getShaderInfoLog(fs);
      gl.deleteShader(fs);
      check(`compile ${name}`);
      throw new Error(`distml webgl: kernel ${name} failed to compile:\n${log}`);
    }
    const prog = gl.createProgram();
    gl.attachShader(prog, vshader);
    gl.attachShader(prog, fs);
    gl.bindAttribLocation(prog, 0, "a_pos");
    gl.linkProgram(prog);
    gl.deleteShader(fs);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      const log = gl.getProgramInfoLog(prog);
      gl.deleteProgram(prog);
      check(`link ${name}`);
      throw new Error(`distml webgl: kernel ${name} failed to link:\n${log}`);
    }
    const uniforms = {};
    const n = gl.getProgramParameter(prog, gl.ACTIVE_UNIFORMS);
    const samplers = [];
    for (let i = 0; i < n; i++) {
      const u = gl.getActiveUniform(prog, i);
      const uname = u.name.endsWith("[0]") ? u.name.slice(0, -3) : u.name;
      const loc = gl.getUniformLocation(prog, u.name);
      uniforms[uname] = { loc, type: u.type, size: u.size };
      if (u.type === gl.SAMPLER_2D) samplers.push(uname);
    }
    // sampler u_inK reads texture unit K: run() binds input K there (also when the
    // compiler dropped another, unused sampler)
    gl.useProgram(prog);
    curProgram = prog;
    for (const s of samplers) {
      const m = /^u_in(\d+)$/.exec(s);
      if (!m) throw new Error(`distml webgl: kernel ${name}: sampler ${s} is not u_inK`);
      gl.uniform1i(uniforms[s].loc, Number(m[1]));
    }
    const h = nextHandle++;
    programs.set(h, { prog, name, uniforms });
    counters.programs++;
    return h;
  }

  // every texture is RGBA32F: a flat buffer holds 4 elements per texel
  function createTexture(w, h) {
    counters.calls++;
    check("createTexture");
    const tex = gl.createTexture();
    bindTex(tex);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, w, h);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    const fbo = gl.createFramebuffer();
    bindFbo(fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    const h0 = nextHandle++;
    const bytes = w * h * 16;
    textures.set(h0, { tex, fbo, w, h, bytes, mrt: new Set() });
    counters.textures++;
    counters.bytes += bytes;
    return h0;
  }

  function deleteTexture(handle) {
    counters.calls++;
    const t = textures.get(handle);
    if (!t) return;
    for (const key of t.mrt) dropMrt(key);
    textures.delete(handle);
    counters.textures--;
    counters.bytes -= t.bytes;
    if (!lost) {
      gl.deleteFramebuffer(t.fbo);
      gl.deleteTexture(t.tex);
    }
  }

  // data: Float32Array of n <= 4*w*h values, written from element 0 (texel (0, 0))
  function upload(handle, data) {
    counters.calls++;
    counters.uploads++;
    check("upload");
    const t = textures.get(handle);
    const n = data.length;
    const rowLen = 4 * t.w;
    bindTex(t.tex);
    const rows = Math.floor(n / rowLen);
    if (rows > 0) {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.w, rows, gl.RGBA, gl.FLOAT,
                       data.subarray(0, rows * rowLen));
    }
    const rest = n - rows * rowLen;
    if (rest > 0) {  // the last, partial row, padded to whole texels
      const texels = Math.ceil(rest / 4);
      const tail = new Float32Array(4 * texels);
      tail.set(data.subarray(rows * rowLen));
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, rows, texels, 1, gl.RGBA, gl.FLOAT, tail);
    }
  }

  function fill(handle, value) {
    counters.calls++;
    check("fill");
    const t = textures.get(handle);
    bindFbo(t.fbo);
    gl.clearBufferfv(gl.COLOR, 0, [value, value, value, value]);
  }

  // the first n elements of a texture, as a Float32Array
  function download(handle, n) {
    counters.calls++;
    counters.downloads++;
    check("download");
    const t = textures.get(handle);
    const rows = Math.max(1, Math.ceil(n / (4 * t.w)));
    const need = t.w * rows * 4;
    if (readBuf.length < need) readBuf = new Float32Array(need);
    bindFbo(t.fbo);
    gl.readPixels(0, 0, t.w, rows, gl.RGBA, gl.FLOAT, readBuf);
    check("download");
    return readBuf.slice(0, n);
  }

  // spec: JSON [program, outHandle, [inputHandles...], {uniform: number | [numbers]}]
  function run(spec) {
    counters.calls++;
    const [ph, oh, inputs, values] = JSON.parse(spec);
    draw(ph, oh, inputs, values);
  }

  // A framebuffer per set of render targets, kept while its textures live (at most
  // MRT_FBOS, least recently used dropped): a replay draws into the same sets every step,
  // and re-attaching 8 textures to one framebuffer made ANGLE rebuild it each draw. A
  // ResNet-18 step draws into ~250 sets (its state swaps textures every step): with room
  // for 64, a replay made and deleted 113 framebuffers every step
  const MRT_FBOS = 1024;
  const mrtFbos = new Map();  // "h0,h1,..." -> framebuffer

  function mrtFramebuffer(oh) {
    const key = oh.join(",");
    let fbo = mrtFbos.get(key);
    if (fbo) {
      mrtFbos.delete(key);  // re-inserted below: most recently used last
    } else {
      if (mrtFbos.size >= MRT_FBOS) dropMrt(mrtFbos.keys().next().value);
      fbo = gl.createFramebuffer();
      counters.mrtFramebuffers++;
      bindFbo(fbo);
      for (let j = 0; j < oh.length; j++) {
        gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + j, gl.TEXTURE_2D,
                                textures.get(oh[j]).tex, 0);
      }
      gl.drawBuffers(oh.map((_, j) => gl.COLOR_ATTACHMENT0 + j));
      for (const h of oh) textures.get(h).mrt.add(key);
    }
    mrtFbos.set(key, fbo);
    return fbo;
  }

  function dropMrt(key) {
    const fbo = mrtFbos.get(key);
    if (!fbo) return;
    mrtFbos.delete(key);
    for (const h of key.split(",")) {
      const t = textures.get(Number(h));
      if (t) t.mrt.delete(key);
    }
    if (!lost) gl.deleteFramebuffer(fbo);
  }

  function same(a, b) {  // Object.is: -0 differs from 0 (a sign a kernel may read)
    if (Object.is(a, b)) return true;
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }

  // a uniform's GL setter by its type and whether its value is a list
  function setUniform(u, v, name, p) {
    switch (u.type) {
      case gl.INT:
        if (typeof v === "number") gl.uniform1i(u.loc, v); else gl.uniform1iv(u.loc, v);
        break;
      case gl.UNSIGNED_INT:
        if (typeof v === "number") gl.uniform1ui(u.loc, v); else gl.uniform1uiv(u.loc, v);
        break;
      case gl.FLOAT:
        if (typeof v === "number") gl.uniform1f(u.loc, v); else gl.uniform1fv(u.loc, v);
        break;
      case gl.INT_VEC2: gl.uniform2iv(u.loc, v); break;
      case gl.INT_VEC4: gl.uniform4iv(u.loc, v); break;
      case gl.FLOAT_VEC2: gl.uniform2fv(u.loc, v); break;
      case gl.FLOAT_VEC4: gl.uniform4fv(u.loc, v); break;
      default: throw new Error(`distml webgl: uniform ${name} of ${p.name} has an ` +
                               `unsupported type 0x${u.type.toString(16)}`);
    }
  }

  // inputs on units 0.., from the active unit on (then around): one activeTexture call
  // fewer a draw; they stay bound after the draw: a program rebinds every unit its
  // samplers read, so a stale binding never forms a feedback loop
  function bindInputs(texs) {
    const n = texs.length;
    const start = curUnit < n ? curUnit : 0;
    for (let j = 0; j < n; j++) {
      const i = start + j < n ? start + j : start + j - n;
      const tex = texs[i];
      if (unitTex[i] === tex) continue;
      if (curUnit !== i) {
        gl.activeTexture(gl.TEXTURE0 + i);
        curUnit = i;
      }
      gl.bindTexture(gl.TEXTURE_2D, tex);
      unitTex[i] = tex;
    }
  }

  function useProgram(p) {
    if (curProgram !== p.prog) {
      gl.useProgram(p.prog);
      curProgram = p.prog;
    }
  }

  function drawInto(out) {
    if (out.w !== vpW || out.h !== vpH) {
      gl.viewport(0, 0, out.w, out.h);
      vpW = out.w;
      vpH = out.h;
    }
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    counters.draws++;
  }

  function draw(ph, oh, inputs, values) {
    const p = programs.get(ph);
    check(`kernel ${p ? p.name : ph}`);
    let out;
    if (Array.isArray(oh)) {  // several render targets of one size
      out = textures.get(oh[0]);
      bindFbo(mrtFramebuffer(oh));
    } else {
      out = textures.get(oh);
      bindFbo(out.fbo);
    }
    useProgram(p);
    bindInputs(inputs.map((h) => textures.get(h).tex));
    const us = p.uniforms;
    for (const name in values) {
      const u = us[name];
      if (!u) continue;  // optimised away by the compiler
      const v = values[name];
      // a program keeps its uniforms between draws: set only those that changed (each GL
      // call costs ~1 us in Chromium's command buffer; a replay's draws repeat most values)
      if (same(u.last, v)) continue;
      u.last = Array.isArray(v) ? v.slice() : v;
      setUniform(u, v, name, p);
    }
    drawInto(out);
    check(`kernel ${p.name}`);
  }

  // Captured steps (distml.compile): a graph is a list of ops over slots, each slot a
  // texture handle in the graph's table. Ops as defined: ["d", program, outSlot |
  // [outSlots], [inSlots], uniforms] a draw, ["f", slot, value] a fill. defineGraph
  // resolves them once (programs, uniform locations, values as typed arrays), so a
  // replayed draw is its GL calls and little else.
  const graphs = new Map();

  // a list as a typed array (GL converts a list the same way), one per distinct value of
  // a uniform: draws that share a program and a value share the array, so a replay finds
  // a value already set by comparing identities
  function typedValue(u, v) {
    if (typeof v === "number") return v;
    const key = v.join(",");
    // (a schedule's lr is a new value every step: the map is bounded)
    if (!u.values || u.values.size >= 256) u.values = new Map();
    let arr = u.values.get(key);
    if (!arr) {
      const T = u.type === gl.UNSIGNED_INT ? Uint32Array
        : u.type === gl.FLOAT || u.type === gl.FLOAT_VEC2 || u.type === gl.FLOAT_VEC4
          ? Float32Array : Int32Array;
      arr = T.from(v);
      u.values.set(key, arr);
    }
    return arr;
  }

  function resolveOp(op) {
    if (op[0] === "f") {
      const v = Number(op[2]);  // "Infinity", "NaN" (JSON has neither)
      return { kind: "f", slot: op[1], rgba: new Float32Array([v, v, v, v]) };
    }
    const p = programs.get(op[1]);
    const uniforms = [];  // [{name, u, v}] of the uniforms the program has
    for (const name in op[4]) {
      const u = p.uniforms[name];
      if (u) uniforms.push({ name, u, v: typedValue(u, op[4][name]) });
    }
    return { kind: "d", p, out: op[2], ins: op[3], uniforms,
             texs: new Array(op[3].length) };
  }

  function defineGraph(spec) {
    counters.calls++;
    const { table, prologue, swap, ops } = JSON.parse(spec);
    const h = nextHandle++;
    graphs.set(h, { table, prologue, swap, ops: ops.map(resolveOp),
                    live: new Array(table.length) });
    return h;
  }

  function dropGraph(h) {
    counters.calls++;
    graphs.delete(h);
  }

  function copy(from, to) {  // a whole texture, bit for bit
    const a = textures.get(from);
    const b = textures.get(to);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, a.fbo);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, b.fbo);
    gl.blitFramebuffer(0, 0, a.w, a.h, 0, 0, b.w, b.h, gl.COLOR_BUFFER_BIT, gl.NEAREST);
    curFbo = undefined;  // read and draw bindings differ: unknown to bindFbo
    bindFbo(null);
  }

  // One captured step, one call: spec is JSON {args: [[slot, handle]...], patches:
  // [[op, uniform, value]...], outs: [[slot, handle]...]}. The prologue copies last
  // step's state outputs onto the state inputs, or with g.swap swaps their textures in
  // the table (Python swaps the handles of its storages to match); outs are copied into
  // fresh textures.
  function replay(h, spec) {
    counters.calls++;
    const g = graphs.get(h);
    const { args, patches, outs } = JSON.parse(spec);
    check("replay");
    const created = [];
    // an out of handle 0 gets a new texture (no FFI call of its own): "h,h" returned
    for (const o of outs) {
      if (o[1] === 0) {
        const src = textures.get(g.table[o[0]]);
        o[1] = createTexture(src.w, src.h);
        created.push(o[1]);
      }
    }
    replayOps(g, args, patches, outs, g.swap, g.ops.length);
    check("replay");
    return created.join(",");
  }

  // For profiling only (bench/browser_profile.py): replay ops [0, upto) of a graph, then
  // read one texel of the last output (readPixels waits for the GPU: gl.finish() does not
  // in Chromium); returns [ms, kernel name of op upto - 1, its output w, h, ops in the graph]
  function replayTimed(h, spec, upto) {
    counters.calls++;
    const g = graphs.get(h);
    const { args, patches } = JSON.parse(spec);
    const px = new Float32Array(4);
    const t0 = performance.now();
    replayOps(g, args, patches, [], false, upto);
    const last = upto > 0 ? g.ops[upto - 1] : null;
    const slot = last && last.kind === "d" ? (Array.isArray(last.out) ? last.out[0] : last.out)
      : last ? last.slot : g.prologue.length ? g.prologue[0][1] : args[0][0];
    const tex = textures.get(g.table[slot]);
    bindFbo(tex.fbo);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, px);
    const ms = performance.now() - t0;
    const name = last && last.kind === "d" ? last.p.name : "";
    return JSON.stringify([ms, name, tex.w, tex.h, g.ops.length]);
  }

  // For profiling only: op k of a graph run n times in a row, then one texel read back
  // (a sync point); returns the ms of it all (the caller subtracts n = 0)
  function timeOp(h, spec, k, n) {
    counters.calls++;
    const g = graphs.get(h);
    const { args } = JSON.parse(spec);
    for (const [slot, handle] of args) g.table[slot] = handle;
    resolveTable(g);
    const px = new Float32Array(4);
    const op = g.ops[k];
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, px);
    const t0 = performance.now();
    for (let r = 0; r < n; r++) replayOp(g, op);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, px);
    return performance.now() - t0;
  }

  // For profiling only: [kernel name, out w, out h] of each op of a graph
  function graphOps(h) {
    const g = graphs.get(h);
    return JSON.stringify(g.ops.map((op) => {
      if (op.kind !== "d") return ["fill", 0, 0];
      const t = textures.get(g.table[Array.isArray(op.out) ? op.out[0] : op.out]);
      return [op.p.name, t ? t.w : 0, t ? t.h : 0];
    }));
  }

  function resolveTable(g) {  // slot -> texture record, once a replay (not once a use)
    const t = g.table;
    const live = g.live;
    for (let i = 0; i < t.length; i++) live[i] = t[i] === null ? null : textures.get(t[i]);
  }

  function patch(g, op, name, value) {  // a value a replay recomputes (lr, an rng offset)
    for (const e of g.ops[op].uniforms) {
      if (e.name !== name) continue;
      e.v = typedValue(e.u, value);
    }
  }

  function replayOp(g, op) {
    const live = g.live;
    if (op.kind === "f") {
      bindFbo(live[op.slot].fbo);
      gl.clearBufferfv(gl.COLOR, 0, op.rgba);
      return;
    }
    let out;
    if (Array.isArray(op.out)) {
      out = live[op.out[0]];
      bindFbo(mrtFramebuffer(op.out.map((s) => g.table[s])));
    } else {
      out = live[op.out];
      bindFbo(out.fbo);
    }
    const p = op.p;
    useProgram(p);
    const texs = op.texs;
    for (let j = 0; j < texs.length; j++) texs[j] = live[op.ins[j]].tex;
    bindInputs(texs);
    for (const e of op.uniforms) {
      // identity for lists: a list set here is never changed in place, and one set by an
      // eager draw is a copy (a mismatch only costs a redundant call)
      if (Object.is(e.u.last, e.v)) continue;
      e.u.last = e.v;
      setUniform(e.u, e.v, e.name, p);
    }
    drawInto(out);
  }

  function replayOps(g, args, patches, outs, swap, upto) {
    const t = g.table;
    for (const [slot, handle] of args) t[slot] = handle;
    for (const [op, name, value] of patches) patch(g, op, name, value);
    for (const [from, to] of g.prologue) {
      if (swap) [t[from], t[to]] = [t[to], t[from]];
      else copy(t[from], t[to]);
    }
    resolveTable(g);
    for (let k = 0; k < upto; k++) replayOp(g, g.ops[k]);
    for (const [slot, handle] of outs) copy(t[slot], handle);
  }

  function isContextLost() {
    counters.calls++;
    return lost || (gl !== null && gl.isContextLost());
  }

  // for tests: simulate a context loss through WEBGL_lose_context
  function loseContext() {
    const ext = gl.getExtension("WEBGL_lose_context");
    if (!ext) return false;
    ext.loseContext();
    lost = true;
    return true;
  }

  function stats() {
    return JSON.stringify({ ...counters, liveTextures: textures.size,
                            livePrograms: programs.size });
  }

  return { init, compile, createTexture, deleteTexture, upload, fill, download, run,
           defineGraph, dropGraph, replay, replayTimed, timeOp, graphOps, isContextLost, loseContext, stats };
})();
