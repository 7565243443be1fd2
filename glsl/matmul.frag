// Batched matmul in one draw, outputs written in place (small or integer matmuls; the
// others run as pack.frag + matmul_packed.frag + unpack.frag):
// out[b, m, n] = sum_k A[b, m, k] * B[b, k, n], A and B read through strides.
//   BN4  N % 4 == 0 and B's rows contiguous from multiples of 4: a fragment's 4 outputs
//        are columns n .. n + 3 of one row, and each k reads them from one texel of B
//        (AK4: A's 4 k too, from one texel); 2 fetches per 4 multiply-adds, not 8
//   K4   A's rows and B's columns contiguous along k from multiples of 4, K % 4 == 0:
//        each output is a dot product of texels (2 fetches per 4 multiply-adds)
//   else one element per fetch
uniform int u_M;
uniform int u_N;
uniform int u_K;
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_st0[3];  // batch, m, k
uniform sampler2D u_in1;
uniform ivec2 u_w1;  // (width - 1, log2 width)
uniform int u_off1;
uniform int u_st1[3];  // batch, k, n

#ifdef BN4
void main() {
    int i = outIndex();
    if (i >= u_n) { outColor = vec4(0.0); return; }
    int n = i % u_N;
    int t = i / u_N;
    int m = t % u_M;
    int b = t / u_M;
    int ja = u_off0 + b * u_st0[0] + m * u_st0[1];
    int qb = (u_off1 + b * u_st1[0] + n) >> 2;  // B[b, 0, n .. n + 3]
    int dq = u_st1[1] >> 2;
    vec4 acc = vec4(0.0);
#ifdef AK4
    int qa = ja >> 2;
    for (int k = 0; k < u_K; k += 4) {
        vec4 a = fetch4(u_in0, u_w0, qa++);
        acc += a.x * fetch4(u_in1, u_w1, qb);
        acc += a.y * fetch4(u_in1, u_w1, qb + dq);
        acc += a.z * fetch4(u_in1, u_w1, qb + 2 * dq);
        acc += a.w * fetch4(u_in1, u_w1, qb + 3 * dq);
        qb += 4 * dq;
    }
#else
    for (int k = 0; k < u_K; k++) {
        acc += fetch(u_in0, u_w0, ja) * fetch4(u_in1, u_w1, qb);
        ja += u_st0[2];
        qb += dq;
    }
#endif
    outColor = acc;
}
#else
float value(int i) {
    int n = i % u_N;
    int t = i / u_N;
    int m = t % u_M;
    int b = t / u_M;
    int ja = u_off0 + b * u_st0[0] + m * u_st0[1];
    int jb = u_off1 + b * u_st1[0] + n * u_st1[2];
    float acc = 0.0;
#ifdef K4
    int qa = ja >> 2, qb = jb >> 2;
    for (int k = 0; k < u_K; k += 4) {
        acc += dot(fetch4(u_in0, u_w0, qa++), fetch4(u_in1, u_w1, qb++));
    }
#else
    for (int k = 0; k < u_K; k++) {
        acc += fetch(u_in0, u_w0, ja) * fetch(u_in1, u_w1, jb);
        ja += u_st0[2];
        jb += u_st1[1];
    }
#endif
    return acc;
}

MAIN_4_VALUES
#endif
