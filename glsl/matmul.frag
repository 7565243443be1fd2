// Batched matmul, one output per texel (naive; packing and register blocking come later):
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

void main() {
    int i = outIndex();
    if (i >= u_n) { store(0.0); return; }
    int n = i % u_N;
    int t = i / u_N;
    int m = t % u_M;
    int b = t / u_M;
    int ja = u_off0 + b * u_st0[0] + m * u_st0[1];
    int jb = u_off1 + b * u_st1[0] + n * u_st1[2];
    // walk both operands with 2-D texel cursors: no integer division inside the K loop
    int wa = u_w0.x + 1;
    int wb = u_w1.x + 1;
    ivec2 pa = texel(u_w0, ja);
    ivec2 pb = texel(u_w1, jb);
    ivec2 da = texel(u_w0, u_st0[2]);
    ivec2 db = texel(u_w1, u_st1[1]);
    float acc = 0.0;
    for (int k = 0; k < u_K; k++) {
        acc += texelFetch(u_in0, pa, 0).r * texelFetch(u_in1, pb, 0).r;
        pa += da;
        if (pa.x >= wa) { pa.x -= wa; pa.y += 1; }
        pb += db;
        if (pb.x >= wb) { pb.x -= wb; pb.y += 1; }
    }
    store(acc);
}
