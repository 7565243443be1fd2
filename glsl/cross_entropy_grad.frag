// Cross-entropy, step 3 of 3, the gradient of the logits: g * (softmax(x)[r, c] - [c == t[r]])
// (divided by the count with MEAN) for rows whose target is not u_ignore, else 0.
uniform sampler2D u_in0;  // x (N, C), contiguous
uniform ivec2 u_w0;
uniform int u_off0;
uniform sampler2D u_in1;  // targets (N,)
uniform ivec2 u_w1;
uniform int u_off1;
uniform sampler2D u_in2;  // lse (N,)
uniform ivec2 u_w2;
uniform sampler2D u_in3;  // (loss, count), cross_entropy_loss
uniform ivec2 u_w3;
uniform sampler2D u_in4;  // the incoming gradient, one element
uniform ivec2 u_w4;
uniform int u_off4;
uniform int u_C;
uniform float u_ignore;

float value(int i) {
    int r = i / u_C;
    int c = i - r * u_C;
    float t = fetch(u_in1, u_w1, u_off1 + r);
    if (t == u_ignore) return 0.0;
    float g = fetch(u_in4, u_w4, u_off4);
#ifdef MEAN
    g = g / fetch(u_in3, u_w3, 1);
#endif
    float p = exp(fetch(u_in0, u_w0, u_off0 + i) - fetch(u_in2, u_w2, r));
    return (p - (float(c) == t ? 1.0 : 0.0)) * g;
}

MAIN_4_VALUES
