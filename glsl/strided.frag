// Strided writes: slice_assign (and cat, which is a chain of them). The output has x's
// shape; positions inside the slice (start + k * step, k < count on every dim) take
// src[k] (src read through its strides, broadcast with stride 0), the others take x.
//   RANK   rank of x, >= 1
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

float value(int i) {
    int rem = i;
    int jx = u_off0;
    int js = u_off1;
    bool inside = true;
    for (int d = RANK - 1; d >= 0; d--) {
        int n = u_shape[d];
        int c = rem % n;
        rem /= n;
        jx += c * u_st0[d];
        int k = c - u_start[d];
        if (k < 0 || k % u_step[d] != 0 || k / u_step[d] >= u_count[d]) inside = false;
        else js += (k / u_step[d]) * u_st1[d];
    }
    return inside ? fetch(u_in1, u_w1, js) : fetch(u_in0, u_w0, jx);
}

MAIN_4_VALUES
