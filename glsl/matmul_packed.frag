// Register-blocked matmul on RGBA panels (see pack.frag): C[b, m, n] = sum_k A[b, m, k] *
// B[b, k, n], with A packed as rows (b, m) and B transposed, packed as rows (b, n), both
// along k. A fragment computes RB rows x 4 columns (4 * n4 .. + 3) of C. Per 4 k it reads
// RB texels of A and 4 of B for 16 * RB multiply-adds (a naive kernel reads 2 per 1).
//   MRT  defined (batch 1 only): RB = 4; C is cut into 4 parts of u_Mq rows, one per render
//        target, and a fragment computes row q of each part (rows q + j * u_Mq), so that
//        neighbouring rows of C, which unpack reads together, sit in the same part.
//        Otherwise RB = 1: row q, one panel. Each part is a panel with u_H rows per band.
//   RB8  (with MRT) 8 parts, 8 render targets: RB = 8, 12 fetches per 128 multiply-adds
//        instead of 8 per 64 (SwiftShader's cost is its fetches)
//   ACC  defined: add the partial C of an earlier split-K pass (u_in2 .., same layout)
//   ADIRECT / BDIRECT: A / B^T read in place (no pack): row r's texel k4 is texel
//        u_qa + r * u_sa + k4 (u_qb, u_sb) of the input's flat layout (common.glsl)
//   BNAT: B read in place in its own row-major layout: texel u_qb + k * u_sb + n / 4
//        holds B[k, n .. n + 3]; then a step is mat4(4 rows of B) * (4 k of A)
#ifdef RB8
#define RB 8
#elif defined(MRT)
#define RB 4
#else
#define RB 1
#endif
uniform sampler2D u_in0;  // A: rows B * M, u_K4 texels, u_HA rows per band
uniform sampler2D u_in1;  // B^T: rows B * N, u_K4 texels, u_HB rows per band
#ifdef ACC
uniform sampler2D u_in2;
#if RB >= 4
uniform sampler2D u_in3, u_in4, u_in5;
#endif
#if RB == 8
uniform sampler2D u_in6, u_in7, u_in8, u_in9;
#endif
#endif
uniform int u_M, u_N, u_R, u_N4, u_H, u_K4, u_HA, u_HB, u_Mq;
#ifdef ADIRECT
uniform ivec2 u_w0;
uniform int u_qa, u_sa;
#define A_AT(r) (u_qa + (r) * u_sa)
#define FETCH_A(a) fetch4(u_in0, u_w0, a)
#define NEXT_A(a) a++
#define A_POS int
#else
#define A_AT(r) panelA(r)
#define FETCH_A(a) texelFetch(u_in0, a, 0)
#define NEXT_A(a) a.x++
#define A_POS ivec2
#endif
#if defined(BDIRECT) || defined(BNAT)
uniform ivec2 u_w1;
uniform int u_qb, u_sb;
#endif
#ifdef BDIRECT
#define B_AT(r) (u_qb + (r) * u_sb)
#define FETCH_B(b) fetch4(u_in1, u_w1, b)
#define NEXT_B(b) b++
#define B_POS int
#else
#define B_AT(r) panelB(r)
#define FETCH_B(b) texelFetch(u_in1, b, 0)
#define NEXT_B(b) b.x++
#define B_POS ivec2
#endif
#if RB >= 4
layout(location = 0) out vec4 out0;
layout(location = 1) out vec4 out1;
layout(location = 2) out vec4 out2;
layout(location = 3) out vec4 out3;
#endif
#if RB == 8
layout(location = 4) out vec4 out4;
layout(location = 5) out vec4 out5;
layout(location = 6) out vec4 out6;
layout(location = 7) out vec4 out7;
#endif

// one step of 4 k: OP(acc, a) for each row of the fragment
#if RB == 8
#define MORE_ROWS(OP) OP(acc1, a1) OP(acc2, a2) OP(acc3, a3) OP(acc4, a4) OP(acc5, a5) \
    OP(acc6, a6) OP(acc7, a7)
#elif RB == 4
#define MORE_ROWS(OP) OP(acc1, a1) OP(acc2, a2) OP(acc3, a3)
#else
#define MORE_ROWS(OP)
#endif
#define EACH_ROW(OP) OP(acc0, a0) MORE_ROWS(OP)
// BNAT: mat4 * column vector, 4 k of a row of A times 4 rows of B
#define MAD_NAT(acc, a) acc += b * FETCH_A(a); NEXT_A(a);
#define STEP_NAT { mat4 b = mat4(fetch4(u_in1, u_w1, q), fetch4(u_in1, u_w1, q + u_sb), \
    fetch4(u_in1, u_w1, q + 2 * u_sb), fetch4(u_in1, u_w1, q + 3 * u_sb)); \
    EACH_ROW(MAD_NAT) q += 4 * u_sb; }
// else row vector * mat4 (4 rows of B^T): four dot products
#define MAD_BT(acc, a) acc += FETCH_A(a) * bt; NEXT_A(a);
#define STEP_BT { mat4 bt = mat4(FETCH_B(p0), FETCH_B(p1), FETCH_B(p2), FETCH_B(p3)); \
    EACH_ROW(MAD_BT) NEXT_B(p0); NEXT_B(p1); NEXT_B(p2); NEXT_B(p3); }

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
    A_POS a0 = A_AT(min(r, u_R - 1));
    vec4 acc0 = vec4(0.0);
#if RB >= 4
    A_POS a1 = A_AT(min(r + u_Mq, u_R - 1));
    A_POS a2 = A_AT(min(r + 2 * u_Mq, u_R - 1));
    A_POS a3 = A_AT(min(r + 3 * u_Mq, u_R - 1));
    vec4 acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
#endif
#if RB == 8
    A_POS a4 = A_AT(min(r + 4 * u_Mq, u_R - 1));
    A_POS a5 = A_AT(min(r + 5 * u_Mq, u_R - 1));
    A_POS a6 = A_AT(min(r + 6 * u_Mq, u_R - 1));
    A_POS a7 = A_AT(min(r + 7 * u_Mq, u_R - 1));
    vec4 acc4 = vec4(0.0), acc5 = vec4(0.0), acc6 = vec4(0.0), acc7 = vec4(0.0);
#endif
#ifdef BNAT
    int q = u_qb + (n >> 2);  // N % 4 == 0: the 4 columns are one texel of each row of B
    for (int k = 0; k < u_K4; k++) STEP_NAT
#else
    int last = nb + u_N - 1;  // rows past N or R repeat the last one; unpack never reads them
    B_POS p0 = B_AT(n);
    B_POS p1 = B_AT(min(n + 1, last));
    B_POS p2 = B_AT(min(n + 2, last));
    B_POS p3 = B_AT(min(n + 3, last));
    for (int k = 0; k < u_K4; k++) STEP_BT
#endif
#ifdef ACC
    acc0 += texelFetch(u_in2, p, 0);
#if RB >= 4
    acc1 += texelFetch(u_in3, p, 0);
    acc2 += texelFetch(u_in4, p, 0);
    acc3 += texelFetch(u_in5, p, 0);
#endif
#if RB == 8
    acc4 += texelFetch(u_in6, p, 0);
    acc5 += texelFetch(u_in7, p, 0);
    acc6 += texelFetch(u_in8, p, 0);
    acc7 += texelFetch(u_in9, p, 0);
#endif
#endif
#if RB >= 4
    out0 = acc0; out1 = acc1; out2 = acc2; out3 = acc3;
#if RB == 8
    out4 = acc4; out5 = acc5; out6 = acc6; out7 = acc7;
#endif
#else
    outColor = acc0;
#endif
}
