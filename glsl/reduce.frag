// Reductions of one strided input over some axes (the "reduced" dims), one output per
// (kept index, chunk). The reduced range [0, R) is cut into u_nchunks chunks of u_chunk
// elements so that long sums run in two passes (fewer serial float32 additions).
//   KRANK, RRANK   ranks of the kept and reduced dims (>= 1; a size-1 dim pads)
//   MODE           0 sum, 1 prod, 2 max, 3 min, 4 argmax, 5 argmin (ARG: RRANK == 1)
//   VEC4           (sum) the innermost reduced dim is contiguous and everything is a
//                  multiple of 4: read whole texels
//   PROD2          (sum) reduce the product of two inputs read with the same strides
//                  (u_in1 from offset u_off1): sum of squares, sum of g * x
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_kshape[KRANK];
uniform int u_kst[KRANK];
uniform int u_rshape[RRANK];
uniform int u_rst[RRANK];
#ifdef PROD2
uniform sampler2D u_in1;
uniform ivec2 u_w1;
uniform int u_off1;
#endif
uniform int u_R;
uniform int u_chunk;
uniform int u_nchunks;

float value(int i) {
    int m = i / u_nchunks;
    int ch = i - m * u_nchunks;
    int base = u_off0;
    for (int d = KRANK - 1; d >= 0; d--) {
        int n = u_kshape[d];
        base += (m % n) * u_kst[d];
        m /= n;
    }
    int r0 = ch * u_chunk;
    int r1 = min(u_R, r0 + u_chunk);
#if MODE == 0
    float acc = 0.0;
#elif MODE == 1
    float acc = 1.0;
#elif MODE == 2 || MODE == 4
    float acc = -INF;
#else
    float acc = INF;
#endif
    int best = 0;
    bool nan = false;
    // walk the reduced dims with a carried counter: divisions only for the chunk's start
    int idx[RRANK];
    int j = base;
    int rem = r0;
    for (int d = RRANK - 1; d >= 0; d--) {
        int n = u_rshape[d];
        idx[d] = rem % n;
        j += idx[d] * u_rst[d];
        rem /= n;
    }
#ifdef VEC4
    // sums of contiguous, 4-aligned runs: one fetch per 4 elements
    for (int r = r0; r < r1; r += 4) {
#ifdef PROD2
        acc += dot(fetch4(u_in0, u_w0, j >> 2), fetch4(u_in1, u_w1, (j + u_off1 - u_off0) >> 2));
#else
        acc += dot(fetch4(u_in0, u_w0, j >> 2), vec4(1.0));
#endif
        j += 4;
        idx[RRANK - 1] += 4;
#else
    for (int r = r0; r < r1; r++) {
        float v = fetch(u_in0, u_w0, j);
#ifdef PROD2
        v *= fetch(u_in1, u_w1, j + u_off1 - u_off0);
#endif
        j += u_rst[RRANK - 1];
        idx[RRANK - 1]++;
#endif
        for (int d = RRANK - 1; d > 0 && idx[d] == u_rshape[d]; d--) {
            idx[d] = 0;
            j += u_rst[d - 1] - u_rshape[d] * u_rst[d];
            idx[d - 1]++;
        }
#ifndef VEC4
#if MODE == 0
        acc += v;
#elif MODE == 1
        acc *= v;
#else
        if (nan) continue;
        if (isNaN(v)) { nan = true; acc = v; best = r; continue; }
  #if MODE == 2 || MODE == 4
        if (v > acc || r == r0) { acc = v; best = r; }
  #else
        if (v < acc || r == r0) { acc = v; best = r; }
  #endif
#endif
#endif
    }
#if MODE >= 4
    return float(best);
#else
    return acc;
#endif
}

MAIN_4_VALUES
