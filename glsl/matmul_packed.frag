// Register-blocked matmul on RGBA panels (see pack.frag): C[b, m, n] = sum_k A[b, m, k] *
// B[b, k, n], with A packed as rows (b, m) and B transposed, packed as rows (b, n), both
// along k. One texel of C holds the 4 outputs (m, 4 * n4 .. + 3): per 4 k it reads one
// texel of A and four of B for 16 multiply-adds (a naive kernel reads 2 per 1).
// C is itself a panel: rows (b, m), u_N4 texels per row, u_H rows per band.
//   ACC  defined: add the partial C in u_in2 (same layout): split-K passes
uniform sampler2D u_in0;  // A: rows B * M, u_K4 texels, u_HA rows per band
uniform sampler2D u_in1;  // B^T: rows B * N, u_K4 texels, u_HB rows per band
#ifdef ACC
uniform sampler2D u_in2;
#endif
uniform int u_M, u_N, u_R, u_N4, u_H, u_K4, u_HA, u_HB;

ivec2 panel(int r, int h) {
    int band = r / h;
    return ivec2(band * u_K4, r - band * h);
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int band = p.x / u_N4;
    int n4 = p.x - band * u_N4;
    int r = band * u_H + p.y;
    if (r >= u_R) { outColor = vec4(0.0); return; }
    int b = r / u_M;
    int nb = b * u_N;
    int n = 4 * n4;
    int last = nb + u_N - 1;  // rows past N repeat the last one; unpack never reads them
    ivec2 pa = panel(r, u_HA);
    ivec2 p0 = panel(nb + n, u_HB);
    ivec2 p1 = panel(min(nb + n + 1, last), u_HB);
    ivec2 p2 = panel(min(nb + n + 2, last), u_HB);
    ivec2 p3 = panel(min(nb + n + 3, last), u_HB);
    vec4 acc = vec4(0.0);
    for (int k = 0; k < u_K4; k++) {
        vec4 a = texelFetch(u_in0, pa, 0);
        acc += vec4(dot(a, texelFetch(u_in1, p0, 0)), dot(a, texelFetch(u_in1, p1, 0)),
                    dot(a, texelFetch(u_in1, p2, 0)), dot(a, texelFetch(u_in1, p3, 0)));
        pa.x++; p0.x++; p1.x++; p2.x++; p3.x++;
    }
#ifdef ACC
    acc += texelFetch(u_in2, p, 0);
#endif
    outColor = acc;
}
