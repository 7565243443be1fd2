// gather and scatter_add along u_axis.
//   RANK   rank of x / index / src, >= 1
//   MODE   0 gather: out (index's shape)[q] = x[q with q[axis] = index[q]]
//          1 scatter_add: out (x's shape)[p] = x[p] + sum over j < u_ishape[axis] of
//            src[q] where q = p with q[axis] = j, q inside index's shape, index[q] == p[axis]
uniform int u_shape[RANK];   // output shape
uniform int u_ishape[RANK];  // index shape
uniform int u_axis;
uniform sampler2D u_in0;  // x
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_st0[RANK];
uniform sampler2D u_in1;  // index
uniform ivec2 u_w1;  // (width - 1, log2 width)
uniform int u_off1;
uniform int u_st1[RANK];
#if MODE == 1
uniform sampler2D u_in2;  // src
uniform ivec2 u_w2;  // (width - 1, log2 width)
uniform int u_off2;
uniform int u_st2[RANK];
#endif

float value(int i) {
    int p[RANK];
    int rem = i;
    for (int d = RANK - 1; d >= 0; d--) {
        p[d] = rem % u_shape[d];
        rem /= u_shape[d];
    }
#if MODE == 0
    int ji = u_off1;
    int jx = u_off0;
    for (int d = 0; d < RANK; d++) ji += p[d] * u_st1[d];
    int k = int(fetch(u_in1, u_w1, ji));
    for (int d = 0; d < RANK; d++) jx += (d == u_axis ? k : p[d]) * u_st0[d];
    return fetch(u_in0, u_w0, jx);
#else
    int jx = u_off0;
    int ji = u_off1;
    int js = u_off2;
    bool inside = true;
    for (int d = 0; d < RANK; d++) {
        jx += p[d] * u_st0[d];
        if (d != u_axis) {
            if (p[d] >= u_ishape[d]) inside = false;
            ji += p[d] * u_st1[d];
            js += p[d] * u_st2[d];
        }
    }
    float acc = fetch(u_in0, u_w0, jx);
    if (inside) {
        float target = float(p[u_axis]);
        int sti = u_st1[u_axis];
        int sts = u_st2[u_axis];
        int nj = u_ishape[u_axis];
        for (int j = 0; j < nj; j++) {
            if (fetch(u_in1, u_w1, ji + j * sti) == target) acc += fetch(u_in2, u_w2, js + j * sts);
        }
    }
    return acc;
#endif
}

MAIN_4_VALUES
