// 2-D pooling over planes (P, H, W) (contiguous inputs) and the gradients.
//   MODE 0 max values, 1 max indices (flat h * W + w in the plane, torch's convention),
//        2 avg, 3 avg grad (in0 = gy), 4 max grad (in0 = gy, in1 = indices)
uniform int u_H, u_W, u_OH, u_OW, u_KH, u_KW, u_sh, u_sw, u_ph, u_pw, u_dh, u_dw;
uniform int u_cip;      // avg: count_include_pad
uniform int u_anywin;   // max grad: the window geometry is unknown, scan every output
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform sampler2D u_in1;
uniform ivec2 u_w1;  // (width - 1, log2 width)

int floordiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int ceildiv(int a, int b) { return -floordiv(-a, b); }

// avg window along one dim: (clipped start, clipped end, torch's padded length)
ivec3 window(int o, int s, int p, int k, int size) {
    int start = o * s - p;
    int end = min(start + k, size + p);
    return ivec3(max(start, 0), min(end, size), end - start);
}

int divisor(ivec3 wh, ivec3 ww) {
    return u_cip == 1 ? wh.z * ww.z : max(wh.y - wh.x, 0) * max(ww.y - ww.x, 0);
}

float value(int i) {
#if MODE <= 2
    int ow = i % u_OW; int t = i / u_OW;
    int oh = t % u_OH; int p = t / u_OH;
    int base = p * u_H * u_W;
  #if MODE == 2
    ivec3 wh = window(oh, u_sh, u_ph, u_KH, u_H);
    ivec3 ww = window(ow, u_sw, u_pw, u_KW, u_W);
    int div = divisor(wh, ww);
    float acc = 0.0;
    for (int h = wh.x; h < wh.y; h++)
        for (int w = ww.x; w < ww.y; w++) acc += fetch(u_in0, u_w0, base + h * u_W + w);
    return div > 0 ? acc / float(div) : 0.0;
  #else
    float best = -INF;
    int idx = -1;
    bool nan = false;
    for (int kh = 0; kh < u_KH; kh++) {
        int h = oh * u_sh - u_ph + kh * u_dh;
        if (h < 0 || h >= u_H) continue;
        for (int kw = 0; kw < u_KW; kw++) {
            int w = ow * u_sw - u_pw + kw * u_dw;
            if (w < 0 || w >= u_W) continue;
            float v = fetch(u_in0, u_w0, base + h * u_W + w);
            int j = h * u_W + w;
            if (idx < 0) idx = j;  // first in-bounds position (all -inf)
            if (isNaN(v)) { nan = true; best = v; idx = j; }  // the last NaN
            else if (!nan && v > best) { best = v; idx = j; }
        }
    }
    #if MODE == 0
    return best;
    #else
    return float(idx);
    #endif
  #endif
#else
    int w = i % u_W; int t = i / u_W;
    int h = t % u_H; int p = t / u_H;
    int gbase = p * u_OH * u_OW;
    float acc = 0.0;
  #if MODE == 3
    int oh0 = max(0, ceildiv(h + u_ph - u_KH + 1, u_sh));
    int oh1 = min(u_OH - 1, floordiv(h + u_ph, u_sh));
    int ow0 = max(0, ceildiv(w + u_pw - u_KW + 1, u_sw));
    int ow1 = min(u_OW - 1, floordiv(w + u_pw, u_sw));
    for (int oh = oh0; oh <= oh1; oh++) {
        ivec3 wh = window(oh, u_sh, u_ph, u_KH, u_H);
        if (h < wh.x || h >= wh.y) continue;
        for (int ow = ow0; ow <= ow1; ow++) {
            ivec3 ww = window(ow, u_sw, u_pw, u_KW, u_W);
            if (w < ww.x || w >= ww.y) continue;
            int div = divisor(wh, ww);
            if (div > 0) acc += fetch(u_in0, u_w0, gbase + oh * u_OW + ow) / float(div);
        }
    }
  #else
    int oh0 = 0, oh1 = u_OH - 1, ow0 = 0, ow1 = u_OW - 1;
    if (u_anywin == 0) {
        oh0 = max(0, ceildiv(h + u_ph - (u_KH - 1) * u_dh, u_sh));
        oh1 = min(u_OH - 1, floordiv(h + u_ph, u_sh));
        ow0 = max(0, ceildiv(w + u_pw - (u_KW - 1) * u_dw, u_sw));
        ow1 = min(u_OW - 1, floordiv(w + u_pw, u_sw));
    }
    float target = float(h * u_W + w);
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            int j = gbase + oh * u_OW + ow;
            if (fetch(u_in1, u_w1, j) == target) acc += fetch(u_in0, u_w0, j);
        }
  #endif
    return acc;
#endif
}

MAIN_4_VALUES
