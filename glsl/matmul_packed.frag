// Register-blocked matmul on RGBA panels (see pack.frag): C[b, m, n] = sum_k A[b, m, k] *
// B[b, k, n], with A packed as rows (b, m) and B transposed, packed as rows (b, n), both
// along k. A fragment computes RB rows x 4 columns (4 * n4 .. + 3) of C. Per 4 k it reads
// RB texels of A and 4 of B for 16 * RB multiply-adds (a naive kernel reads 2 per 1).
//   MRT  defined (batch 1 only): RB = 4; C is cut into 4 parts of u_Mq rows, one per render
//        target, and a fragment computes row q of each part (rows q + j * u_Mq), so that
//        neighbouring rows of C, which unpack reads together, sit in the same part.
//        Otherwise RB = 1: row q, one panel. Each part is a panel with u_H rows per band.
//   ACC  defined: add the partial C of an earlier split-K pass (u_in2 .., same layout)
#ifdef MRT
#define RB 4
#else
#define RB 1
#endif
uniform sampler2D u_in0;  // A: rows B * M, u_K4 texels, u_HA rows per band
uniform sampler2D u_in1;  // B^T: rows B * N, u_K4 texels, u_HB rows per band
#ifdef ACC
uniform sampler2D u_in2;
#if RB == 4
uniform sampler2D u_in3, u_in4, u_in5;
#endif
#endif
uniform int u_M, u_N, u_R, u_N4, u_H, u_K4, u_HA, u_HB, u_Mq;
#if RB == 4
layout(location = 0) out vec4 out0;
layout(location = 1) out vec4 out1;
layout(location = 2) out vec4 out2;
layout(location = 3) out vec4 out3;
#endif

// ABANDS, BBANDS, OBANDS: A, B^T, C have several bands (else no division is needed)
ivec2 panelA(int r) {
#ifdef ABANDS
    int band = r / u_HA;
    return ivec2(band * u_K4, r - band * u_HA);
#else
    return ivec2(0, r);
#endif
}

ivec2 panelB(int r) {
#ifdef BBANDS
    int band = r / u_HB;
    return ivec2(band * u_K4, r - band * u_HB);
#else
    return ivec2(0, r);
#endif
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
#ifdef OBANDS
    int band = p.x / u_N4;
    int n4 = p.x - band * u_N4;
    int r = band * u_H + p.y;
#else
    int n4 = p.x;
    int r = p.y;
#endif
#ifdef BATCHED
    int nb = (min(r, u_R - 1) / u_M) * u_N;  // the batch's first row of B^T
#else
    int nb = 0;
#endif
    int n = nb + 4 * n4;
    int last = nb + u_N - 1;  // rows past N or R repeat the last one; unpack never reads them
    ivec2 p0 = panelB(n);
    ivec2 p1 = panelB(min(n + 1, last));
    ivec2 p2 = panelB(min(n + 2, last));
    ivec2 p3 = panelB(min(n + 3, last));
    ivec2 a0 = panelA(min(r, u_R - 1));
    vec4 acc0 = vec4(0.0);
#if RB == 4
    ivec2 a1 = panelA(min(r + u_Mq, u_R - 1));
    ivec2 a2 = panelA(min(r + 2 * u_Mq, u_R - 1));
    ivec2 a3 = panelA(min(r + 3 * u_Mq, u_R - 1));
    vec4 acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
#endif
    for (int k = 0; k < u_K4; k++) {
        mat4 bt = mat4(texelFetch(u_in1, p0, 0), texelFetch(u_in1, p1, 0),
                       texelFetch(u_in1, p2, 0), texelFetch(u_in1, p3, 0));
        acc0 += texelFetch(u_in0, a0, 0) * bt;  // row vector * mat4: four dot products
#if RB == 4
        acc1 += texelFetch(u_in0, a1, 0) * bt;
        acc2 += texelFetch(u_in0, a2, 0) * bt;
        acc3 += texelFetch(u_in0, a3, 0) * bt;
        a1.x++; a2.x++; a3.x++;
#endif
        a0.x++; p0.x++; p1.x++; p2.x++; p3.x++;
    }
#ifdef ACC
    acc0 += texelFetch(u_in2, p, 0);
#if RB == 4
    acc1 += texelFetch(u_in3, p, 0);
    acc2 += texelFetch(u_in4, p, 0);
    acc3 += texelFetch(u_in5, p, 0);
#endif
#endif
#if RB == 4
    out0 = acc0; out1 = acc1; out2 = acc2; out3 = acc3;
#else
    outColor = acc0;
#endif
}
