// Cross-entropy, step 1 of 3 (webgl/cross_entropy.py): the log-sum-exp of each row of the
// contiguous logits x (N, C): out[r] = m + log(sum_c exp(x[r, c] - m)), m the row's max.
uniform sampler2D u_in0;
uniform ivec2 u_w0;
uniform int u_off0;
uniform int u_C;

float value(int r) {
    int j = u_off0 + r * u_C;
    float m = fetch(u_in0, u_w0, j);
    for (int c = 1; c < u_C; c++) {
        float v = fetch(u_in0, u_w0, j + c);
        m = (v > m || isNaN(v)) ? v : m;
    }
    if (isNaN(m) || abs(m) == INF) return m == -INF ? NAN : m;
    float s = 0.0;
    for (int c = 0; c < u_C; c++) s += exp(fetch(u_in0, u_w0, j + c) - m);
    return m + preciseLog(s);
}

MAIN_4_VALUES
