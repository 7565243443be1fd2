// Batched matmul, one formula per output (naive: small or integer matmuls; the others run
// as pack.frag + matmul_packed.frag + unpack.frag):
// out[b, m, n] = sum_k A[b, m, k] * B[b, k, n], A and B read through strides.
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

float value(int i) {
    int n = i % u_N;
    int t = i / u_N;
    int m = t % u_M;
    int b = t / u_M;
    int ja = u_off0 + b * u_st0[0] + m * u_st0[1];
    int jb = u_off1 + b * u_st1[0] + n * u_st1[2];
    float acc = 0.0;
    for (int k = 0; k < u_K; k++) {
        acc += fetch(u_in0, u_w0, ja) * fetch(u_in1, u_w1, jb);
        ja += u_st0[2];
        jb += u_st1[1];
    }
    return acc;
}

MAIN_4_VALUES
