// Direct 2-D convolution and its two gradients, one formula per output (naive: grouped
// convs; the others run as im2col / col2im around matmul_packed.frag). Inputs are read
// through 4-D strides.
//   MODE 0 forward:     out (N, O, OH, OW) from x (N, C, H, W), w (O, Cg, KH, KW)
//   MODE 1 grad input:  out (N, C, H, W)   from gy (N, O, OH, OW), w
//   MODE 2 grad weight: out (O, Cg, KH, KW) from x, gy
uniform int u_N, u_C, u_H, u_W, u_O, u_Cg, u_Og, u_KH, u_KW, u_OH, u_OW;
uniform int u_sh, u_sw, u_ph, u_pw, u_dh, u_dw;
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_st0[4];
uniform sampler2D u_in1;
uniform ivec2 u_w1;  // (width - 1, log2 width)
uniform int u_off1;
uniform int u_st1[4];

int ix0(int a, int b, int c, int d) {
    return u_off0 + a * u_st0[0] + b * u_st0[1] + c * u_st0[2] + d * u_st0[3];
}
int ix1(int a, int b, int c, int d) {
    return u_off1 + a * u_st1[0] + b * u_st1[1] + c * u_st1[2] + d * u_st1[3];
}

int floordiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Loops are ordered so that the innermost one has no bounds checks and only adds a
// stride to each flat index.
float value(int i) {
    float acc = 0.0;
#if MODE == 0
    // in0 = x, in1 = w; inner loop over the group's input channels
    int ow = i % u_OW; int t = i / u_OW;
    int oh = t % u_OH; t /= u_OH;
    int o = t % u_O; int n = t / u_O;
    int c0 = (o / u_Og) * u_Cg;
    for (int kh = 0; kh < u_KH; kh++) {
        int ih = oh * u_sh - u_ph + kh * u_dh;
        if (ih < 0 || ih >= u_H) continue;
        for (int kw = 0; kw < u_KW; kw++) {
            int iw = ow * u_sw - u_pw + kw * u_dw;
            if (iw < 0 || iw >= u_W) continue;
            int jx = ix0(n, c0, ih, iw);
            int jw = ix1(o, 0, kh, kw);
            for (int c = 0; c < u_Cg; c++) {
                acc += fetch(u_in0, u_w0, jx) * fetch(u_in1, u_w1, jw);
                jx += u_st0[1];
                jw += u_st1[1];
            }
        }
    }
#elif MODE == 1
    // in0 = gy, in1 = w; inner loop over the group's output channels
    int iw = i % u_W; int t = i / u_W;
    int ih = t % u_H; t /= u_H;
    int c = t % u_C; int n = t / u_C;
    int g = c / u_Cg;
    int cl = c - g * u_Cg;
    for (int kh = 0; kh < u_KH; kh++) {
        int th = ih + u_ph - kh * u_dh;
        if (th < 0 || th % u_sh != 0) continue;
        int oh = th / u_sh;
        if (oh >= u_OH) continue;
        for (int kw = 0; kw < u_KW; kw++) {
            int tw = iw + u_pw - kw * u_dw;
            if (tw < 0 || tw % u_sw != 0) continue;
            int ow = tw / u_sw;
            if (ow >= u_OW) continue;
            int jg = ix0(n, g * u_Og, oh, ow);
            int jw = ix1(g * u_Og, cl, kh, kw);
            for (int o = 0; o < u_Og; o++) {
                acc += fetch(u_in0, u_w0, jg) * fetch(u_in1, u_w1, jw);
                jg += u_st0[1];
                jw += u_st1[0];
            }
        }
    }
#else
    // in0 = x, in1 = gy; the output columns whose input column is inside the image are
    // a contiguous range: the inner loop runs over it without checks
    int kw = i % u_KW; int t = i / u_KW;
    int kh = t % u_KH; t /= u_KH;
    int cl = t % u_Cg; int o = t / u_Cg;
    int c = (o / u_Og) * u_Cg + cl;
    int cw = kw * u_dw - u_pw;  // iw = ow * sw + cw
    int ow0 = max(0, floordiv(-cw + u_sw - 1, u_sw));
    int ow1 = min(u_OW - 1, floordiv(u_W - 1 - cw, u_sw));
    for (int n = 0; n < u_N; n++) {
        for (int oh = 0; oh < u_OH; oh++) {
            int ih = oh * u_sh - u_ph + kh * u_dh;
            if (ih < 0 || ih >= u_H) continue;
            int jx = ix0(n, c, ih, ow0 * u_sw + cw);
            int jg = ix1(n, o, oh, ow0);
            int dx = u_sw * u_st0[3];
            for (int ow = ow0; ow <= ow1; ow++) {
                acc += fetch(u_in0, u_w0, jx) * fetch(u_in1, u_w1, jg);
                jx += dx;
                jg += u_st1[3];
            }
        }
    }
#endif
    return acc;
}

MAIN_4_VALUES
