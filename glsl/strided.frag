// Strided writes: slice_assign (and cat, which is a chain of them). The output has x's
// shape; positions inside the slice (start + k * step, k < count on every dim) take
// src[k] (src read through its strides, broadcast with stride 0), the others take x.
//   RANK   rank of x, >= 1
//   STEP1  1 when every step is 1 (no divisions by the step)
// A fragment decodes its first element's coordinates once and carries them to the next
// three (integer division is the expensive part on SwiftShader).
uniform int u_shape[RANK];
uniform sampler2D u_in0;  // x
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_st0[RANK];
uniform sampler2D u_in1;  // src
uniform ivec2 u_w1;  // (width - 1, log2 width)
uniform int u_off1;
uniform int u_st1[RANK];
uniform int u_start[RANK];
uniform int u_step[RANK];
uniform int u_count[RANK];

void main() {
    int i = outIndex();
    int c[RANK];
    int rem = i;
    for (int d = RANK - 1; d >= 0; d--) {
        c[d] = rem % u_shape[d];
        rem /= u_shape[d];
    }
    vec4 v = vec4(0.0);
    for (int e = 0; e < 4; e++) {
        if (i + e >= u_n) break;
        int jx = u_off0;
        int js = u_off1;
        bool inside = true;
        for (int d = 0; d < RANK; d++) {
            jx += c[d] * u_st0[d];
            int k = c[d] - u_start[d];
#if STEP1
            if (k < 0 || k >= u_count[d]) inside = false;
            else js += k * u_st1[d];
#else
            if (k < 0 || k % u_step[d] != 0 || k / u_step[d] >= u_count[d]) inside = false;
            else js += (k / u_step[d]) * u_st1[d];
#endif
        }
        v[e] = inside ? fetch(u_in1, u_w1, js) : fetch(u_in0, u_w0, jx);
        for (int d = RANK - 1; d >= 0; d--) {  // the next element's coordinates
            c[d] += 1;
            if (c[d] < u_shape[d]) break;
            c[d] = 0;
        }
    }
    outColor = v;
}
