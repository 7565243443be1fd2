// A flat buffer from a matmul_packed result C (rows x cols, 4 cols per texel, u_N4 texels
// per row, u_HC rows per band when BANDS is defined; in 4 parts with MRT4, 8 with MRT8).
//   MODE 0  out index over up to 4 dims (u_oshape): row = sum idx * u_rs, col = sum idx * u_cs
//           (a matmul's (B, M, N), or a conv's (N, O, OH, OW) from rows (n, oh, ow))
//           WHOLE: out is C itself, (rows, cols) contiguous with cols % 4 == 0: one texel
//           TEXEL: every 4 outputs are one texel of C (the last out dim walks C's columns
//           from a multiple of 4, its size a multiple of 4: a conv's out^T)
//   MODE 1  col2im, a conv's input gradient: x (N, C, H, W) sums C[(n, oh, ow), (c, kh, kw)]
//           over the taps that read it (STRIDE1: both strides are 1)
uniform sampler2D u_in0;
#ifdef MRT8  // C in 8 parts of u_Mq rows (matmul_packed with RB8)
#define MRT4
uniform sampler2D u_in4, u_in5, u_in6, u_in7;
#endif
#ifdef MRT4  // C in 4 parts of u_Mq rows (matmul_packed with MRT)
uniform sampler2D u_in1, u_in2, u_in3;
uniform int u_Mq;
#endif
uniform int u_N4, u_HC;
#if MODE == 0
uniform int u_oshape[4], u_rs[4], u_cs[4];
#else
uniform int u_C, u_IH, u_IW, u_KH, u_KW, u_OH, u_OW, u_sh, u_sw, u_ph, u_pw, u_dh, u_dw;
#endif

vec4 texelAt(int r, int c) {
#ifdef MRT8
    int part = r / u_Mq;
    r -= part * u_Mq;
#elif defined(MRT4)
    int part = r < u_Mq ? 0 : (r < 2 * u_Mq ? 1 : (r < 3 * u_Mq ? 2 : 3));
    r -= part * u_Mq;
#endif
#ifdef BANDS
    int band = r / u_HC;
    ivec2 t = ivec2(band * u_N4 + (c >> 2), r - band * u_HC);
#else
    ivec2 t = ivec2(c >> 2, r);
#endif
#ifdef MRT8
    vec4 v;
    if (part < 4) {
        v = part == 0 ? texelFetch(u_in0, t, 0) : (part == 1 ? texelFetch(u_in1, t, 0)
            : (part == 2 ? texelFetch(u_in2, t, 0) : texelFetch(u_in3, t, 0)));
    } else {
        v = part == 4 ? texelFetch(u_in4, t, 0) : (part == 5 ? texelFetch(u_in5, t, 0)
            : (part == 6 ? texelFetch(u_in6, t, 0) : texelFetch(u_in7, t, 0)));
    }
#elif defined(MRT4)
    vec4 v = part == 0 ? texelFetch(u_in0, t, 0) : (part == 1 ? texelFetch(u_in1, t, 0)
        : (part == 2 ? texelFetch(u_in2, t, 0) : texelFetch(u_in3, t, 0)));
#else
    vec4 v = texelFetch(u_in0, t, 0);
#endif
    return v;
}

float at(int r, int c) {
    return pick(texelAt(r, c), c & 3);
}

#if MODE == 0
// The out index is split into its 4 dims once per fragment; the next 3 elements advance
// it with carries (integer division is slow on software GPUs).
void main() {
    int i = outIndex();
    if (i >= u_n) { outColor = vec4(0.0); return; }
#ifdef WHOLE
    int row = i / u_oshape[3];
    outColor = texelAt(row, i - row * u_oshape[3]);
    return;
#endif
    int idx[4];
    int r = 0, c = 0, rem = i;
    for (int d = 3; d >= 0; d--) {
        int q = rem / u_oshape[d];
        idx[d] = rem - q * u_oshape[d];
        r += idx[d] * u_rs[d];
        c += idx[d] * u_cs[d];
        rem = q;
    }
#ifdef TEXEL
    outColor = texelAt(r, c);
    return;
#endif
    vec4 v = vec4(0.0);
    for (int j = 0; j < 4; j++) {
        if (i + j >= u_n) break;
        float x = at(r, c);
        if (j == 0) v.x = x; else if (j == 1) v.y = x; else if (j == 2) v.z = x; else v.w = x;
        idx[3]++; r += u_rs[3]; c += u_cs[3];
        for (int d = 3; d > 0 && idx[d] == u_oshape[d]; d--) {
            idx[d] = 0;
            r += u_rs[d - 1] - u_oshape[d] * u_rs[d];
            c += u_cs[d - 1] - u_oshape[d] * u_cs[d];
            idx[d - 1]++;
        }
    }
    outColor = v;
}
#else
float value(int i) {
    int iw = i % u_IW; int t = i / u_IW;
    int ih = t % u_IH; t /= u_IH;
    int ch = t % u_C; int n = t / u_C;
    float acc = 0.0;
    for (int kh = 0; kh < u_KH; kh++) {
        int th = ih + u_ph - kh * u_dh;
#ifdef STRIDE1  // no integer division (slow on software GPUs)
        int oh = th;
        if (th < 0 || oh >= u_OH) continue;
#else
        if (th < 0 || th % u_sh != 0) continue;
        int oh = th / u_sh;
        if (oh >= u_OH) continue;
#endif
        for (int kw = 0; kw < u_KW; kw++) {
            int tw = iw + u_pw - kw * u_dw;
#ifdef STRIDE1
            int ow = tw;
            if (tw < 0 || ow >= u_OW) continue;
#else
            if (tw < 0 || tw % u_sw != 0) continue;
            int ow = tw / u_sw;
            if (ow >= u_OW) continue;
#endif
            acc += at((n * u_OH + oh) * u_OW + ow, (ch * u_KH + kh) * u_KW + kw);
        }
    }
    return acc;
}

MAIN_4_VALUES
#endif
