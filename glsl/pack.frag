// Pack a matrix view into RGBA panels, the operands of matmul_packed: the texel
// (band * u_K4 + k4, y) holds elements (r, k) for k = u_k0 + 4 * k4 .. + 3 of row
// r = band * u_H + y (zero past u_K or u_R). A dot product along K is then one vec4 op.
//   MODE 0  a strided view: r and k each over up to 3 dims (shape, strides)
//   MODE 1  im2col of x (N, C, H, W): r = (n, oh, ow), k = (c, kh, kw), zero padding;
//           with TRANS defined the roles swap: r = (c, kh, kw), k = (n, oh, ow)
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_R, u_K, u_K4, u_H, u_k0;
#if MODE == 0
uniform int u_rshape[3], u_rst[3], u_kshape[3], u_kst[3];

int part(int t, int shape[3], int st[3]) {
    int q = t / shape[2];
    int i = (t - q * shape[2]) * st[2];
    int q2 = q / shape[1];
    return i + (q - q2 * shape[1]) * st[1] + q2 * st[0];
}
#else
uniform int u_st0[4];
uniform int u_C, u_IH, u_IW, u_KH, u_KW, u_OH, u_OW, u_sh, u_sw, u_ph, u_pw, u_dh, u_dw;
#endif

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int band = p.x / u_K4;
    int k4 = p.x - band * u_K4;
    int r = band * u_H + p.y;
    vec4 v = vec4(0.0);
    if (r >= u_R) { outColor = v; return; }
#if MODE == 0
    int base = u_off0 + part(r, u_rshape, u_rst);
#else
#ifdef TRANS
    int kw = r % u_KW; int t = r / u_KW;   // r = (c, kh, kw)
    int kh = t % u_KH; int c = t / u_KH;
    int base = u_off0 + c * u_st0[1];
#else
    int ow = r % u_OW; int t = r / u_OW;   // r = (n, oh, ow)
    int oh = t % u_OH; int n = t / u_OH;
    int base = u_off0 + n * u_st0[0];
#endif
#endif
    for (int j = 0; j < 4; j++) {
        int k = 4 * k4 + j;
        if (k >= u_K) break;
        k += u_k0;
#if MODE == 0
        v[j] = fetch(u_in0, u_w0, base + part(k, u_kshape, u_kst));
#else
#ifdef TRANS
        int ow = k % u_OW; int s = k / u_OW;   // k = (n, oh, ow)
        int oh = s % u_OH; int n = s / u_OH;
        int i = base + n * u_st0[0];
#else
        int kw = k % u_KW; int s = k / u_KW;   // k = (c, kh, kw)
        int kh = s % u_KH; int c = s / u_KH;
        int i = base + c * u_st0[1];
#endif
        int ih = oh * u_sh - u_ph + kh * u_dh;
        int iw = ow * u_sw - u_pw + kw * u_dw;
        if (ih >= 0 && ih < u_IH && iw >= 0 && iw < u_IW) {
            v[j] = fetch(u_in0, u_w0, i + ih * u_st0[2] + iw * u_st0[3]);
        }
#endif
    }
    outColor = v;
}
