// Pack a matrix view into RGBA panels, the operands of matmul_packed: the texel
// (band * u_K4 + k4, y) holds elements (r, k) for k = u_k0 + 4 * k4 .. + 3 of row
// r = band * u_H + y (zero past u_K or u_R). A dot product along K is then one vec4 op.
//   BANDS   defined when the panel has more than one band
//   MODE 0  a strided view: r and k each over up to 3 dims (shape, strides)
//   ALIGNED (MODE 0) the 4 k of every texel are consecutive elements starting at a multiple
//           of 4 (k contiguous, u_K, u_k0, offset and row strides multiples of 4): one fetch
//   TALIGNED (MODE 0) rows contiguous, k strided by a multiple of 4, offset a multiple of 4
//           (a transposed contiguous matrix): the 4 k are one component of 4 texels
//   MODE 1  im2col of x (N, C, H, W): r = (n, oh, ow), k = (c, kh, kw), zero padding;
//           with TRANS defined the roles swap: r = (c, kh, kw), k = (n, oh, ow)
// The 4 k of a texel are consecutive: the k index is split into dims once and then
// advanced with carries (integer division is slow on software GPUs).
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_R, u_K, u_K4, u_H, u_k0;
#if MODE == 0
uniform int u_rshape[3], u_rst[3], u_kshape[3], u_kst[3];
#else
uniform int u_st0[4];
uniform int u_C, u_IH, u_IW, u_KH, u_KW, u_OH, u_OW, u_sh, u_sw, u_ph, u_pw, u_dh, u_dw;
#endif

// t split over (s0, s1, s2) as (a, b, c), c fastest
ivec3 split3(int t, int s1, int s2) {
    int q = t / s2;
    return ivec3(q / s1, q - (q / s1) * s1, t - q * s2);
}

// advance (a, b, c) by one in a (., s1, s2) box
ivec3 next3(ivec3 i, int s1, int s2) {
    i.z++;
    if (i.z == s2) { i.z = 0; i.y++; if (i.y == s1) { i.y = 0; i.x++; } }
    return i;
}

#if MODE == 0
int base;
float valueAt(ivec3 k) {
    return fetch(u_in0, u_w0, base + k.x * u_kst[0] + k.y * u_kst[1] + k.z * u_kst[2]);
}
#else
ivec3 rowIdx;  // (n, oh, ow), or (c, kh, kw) with TRANS
float valueAt(ivec3 k) {
#ifdef TRANS
    ivec3 cw = rowIdx, nw = k;
#else
    ivec3 cw = k, nw = rowIdx;
#endif
    int ih = nw.y * u_sh - u_ph + cw.y * u_dh;
    int iw = nw.z * u_sw - u_pw + cw.z * u_dw;
    if (ih < 0 || ih >= u_IH || iw < 0 || iw >= u_IW) return 0.0;
    return fetch(u_in0, u_w0, u_off0 + nw.x * u_st0[0] + cw.x * u_st0[1] + ih * u_st0[2]
                              + iw * u_st0[3]);
}
#endif

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
#ifdef BANDS
    int band = p.x / u_K4;
    int k4 = p.x - band * u_K4;
    int r = band * u_H + p.y;
#else
    int k4 = p.x;
    int r = p.y;
#endif
    vec4 v = vec4(0.0);
    int kk = 4 * k4;
    if (r >= u_R || kk >= u_K) { outColor = v; return; }
#ifdef TALIGNED
    int q = (u_off0 + r + (u_k0 + kk) * u_kst[2]) >> 2;
    int dq = u_kst[2] >> 2;
    int comp = r & 3;
    v.x = pick(fetch4(u_in0, u_w0, q), comp);
    if (kk + 1 < u_K) v.y = pick(fetch4(u_in0, u_w0, q + dq), comp);
    if (kk + 2 < u_K) v.z = pick(fetch4(u_in0, u_w0, q + 2 * dq), comp);
    if (kk + 3 < u_K) v.w = pick(fetch4(u_in0, u_w0, q + 3 * dq), comp);
    outColor = v;
    return;
#endif
#if MODE == 0
    ivec3 ri = split3(r, u_rshape[1], u_rshape[2]);
    base = u_off0 + ri.x * u_rst[0] + ri.y * u_rst[1] + ri.z * u_rst[2];
    int s1 = u_kshape[1], s2 = u_kshape[2];
#elif defined(TRANS)
    rowIdx = split3(r, u_KH, u_KW);
    int s1 = u_OH, s2 = u_OW;
#else
    rowIdx = split3(r, u_OH, u_OW);
    int s1 = u_KH, s2 = u_KW;
#endif
#ifdef ALIGNED
    outColor = fetch4(u_in0, u_w0, (base + u_k0 + kk) >> 2);
    return;
#endif
    ivec3 k = split3(u_k0 + kk, s1, s2);
    v.x = valueAt(k);
    if (kk + 1 < u_K) { k = next3(k, s1, s2); v.y = valueAt(k); }
    if (kk + 2 < u_K) { k = next3(k, s1, s2); v.z = valueAt(k); }
    if (kk + 3 < u_K) { k = next3(k, s1, s2); v.w = valueAt(k); }
    outColor = v;
}
