// Cross-entropy, step 2 of 3: out = (loss, count): the sum over rows r whose target t[r] is
// not u_ignore of lse[r] - x[r, t[r]], and how many such rows; with MEAN the loss is the
// sum divided by the count (NaN when every row is ignored, as torch). One fragment.
uniform sampler2D u_in0;  // x (N, C), contiguous
uniform ivec2 u_w0;
uniform int u_off0;
uniform sampler2D u_in1;  // targets (N,), int64 held as floats
uniform ivec2 u_w1;
uniform int u_off1;
uniform sampler2D u_in2;  // lse (N,), cross_entropy_rows
uniform ivec2 u_w2;
uniform int u_N, u_C;
uniform float u_ignore;

void main() {
    float acc = 0.0;
    float count = 0.0;
    for (int r = 0; r < u_N; r++) {
        float t = fetch(u_in1, u_w1, u_off1 + r);
        if (t == u_ignore) continue;
        acc += fetch(u_in2, u_w2, r) - fetch(u_in0, u_w0, u_off0 + r * u_C + int(t));
        count += 1.0;
    }
#ifdef MEAN
    acc = count == 0.0 ? NAN : acc / count;
#endif
    outColor = vec4(acc, count, 0.0, 0.0);
}
