// Elementwise map over up to 5 strided inputs with broadcasting (stride 0), also used for
// contiguous copies and casts.
//   RANK      rank of the (collapsed) output shape, >= 1
//   NIN       number of inputs, 0..5 (inputs u_in0..u_in4, values a, b, c, d, e)
//   OP(a,b,c) the output expression (functions below; OP(a,b,c,d) with 4 inputs,
//             OP(a,b,c,d,e) with 5); it may read u_k[0..KN-1], float constants set per
//             draw (an optimizer's lr changes without a recompile); KN is 4 unless defined
//   OP1..OP3  (with MRT) expressions written to render targets 1..3 in the same pass
//             (an optimizer step writes the parameter and its state in one draw)
//   NC        the expressions read NC constants u_c[0..NC-1] (the 1 of x + 1: a uniform,
//             not a texture to fill and fetch)
#ifndef KN
#define KN 4
#endif
#ifdef MRT
layout(location = 0) out vec4 outColor;
layout(location = 1) out vec4 outColor1;
  #ifdef OP2
layout(location = 2) out vec4 outColor2;
  #endif
  #ifdef OP3
layout(location = 3) out vec4 outColor3;
  #endif
#endif
#if NIN > 4
#define EVAL_AT(f, s) f(a.s, b.s, c.s, d.s, e.s)
#define EVAL(f) f(a, b, c, d, e)
#elif NIN > 3
#define EVAL_AT(f, s) f(a.s, b.s, c.s, d.s)
#define EVAL(f) f(a, b, c, d)
#else
#define EVAL_AT(f, s) f(a.s, b.s, c.s)
#define EVAL(f) f(a, b, c)
#endif
#define EVAL4(f) vec4(EVAL_AT(f, x), EVAL_AT(f, y), EVAL_AT(f, z), EVAL_AT(f, w))
uniform int u_shape[RANK];
uniform float u_k[KN];
#ifdef NC
uniform float u_c[NC];
#endif
#if NIN > 0
uniform sampler2D u_in0;
uniform ivec2 u_w0;  // (width - 1, log2 width)
uniform int u_off0;
uniform int u_st0[RANK];
#endif
#if NIN > 1
uniform sampler2D u_in1;
uniform ivec2 u_w1;  // (width - 1, log2 width)
uniform int u_off1;
uniform int u_st1[RANK];
#endif
#if NIN > 2
uniform sampler2D u_in2;
uniform ivec2 u_w2;  // (width - 1, log2 width)
uniform int u_off2;
uniform int u_st2[RANK];
#endif
#if NIN > 3
uniform sampler2D u_in3;
uniform ivec2 u_w3;  // (width - 1, log2 width)
uniform int u_off3;
uniform int u_st3[RANK];
#endif
#if NIN > 4
uniform sampler2D u_in4;
uniform ivec2 u_w4;  // (width - 1, log2 width)
uniform int u_off4;
uniform int u_st4[RANK];
#endif

float f_log(float x) {
    return x > 0.0 ? (x == INF ? x : preciseLog(x)) : (x == 0.0 ? -INF : NAN);
}
float f_sqrt(float x) { return x >= 0.0 ? sqrt(x) : NAN; }
float f_rsqrt(float x) {
    return x > 0.0 ? 1.0 / sqrt(x) : (x == 0.0 ? (floatBitsToUint(x) > 0u ? -INF : INF) : NAN);
}
float f_sign(float x) { return isNaN(x) ? x : (x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0)); }
float f_relu(float x) { return x <= 0.0 ? 0.0 : x; }
float f_exp(float x) { return isNaN(x) ? x : (x > 88.8 ? INF : exp(x)); }
float f_sigmoid(float x) {
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    float e = exp(x);
    return e / (1.0 + e);
}
float f_tanh(float x) {
    if (isNaN(x)) return x;
    float z = abs(x);
    float r;
    if (z < 0.55) {  // odd Taylor series: no cancellation near 0
        float z2 = z * z;
        r = z * (1.0 + z2 * (-1.0 / 3.0 + z2 * (2.0 / 15.0 + z2 * (-17.0 / 315.0
            + z2 * (62.0 / 2835.0 + z2 * (-1382.0 / 155925.0 + z2 * (21844.0 / 6081075.0)))))));
    } else {
        float t = exp(-2.0 * min(z, 20.0));
        r = (1.0 - t) / (1.0 + t);
    }
    return x < 0.0 ? -r : r;
}
float f_erf(float x) {
    if (isNaN(x)) return x;
    float z = abs(x);
    float r;
    if (z < 0.5) {  // Maclaurin series
        float z2 = z * z;
        r = 1.1283791670955126 * z * (1.0 + z2 * (-1.0 / 3.0 + z2 * (1.0 / 10.0
            + z2 * (-1.0 / 42.0 + z2 * (1.0 / 216.0 + z2 * (-1.0 / 1320.0))))));
    } else {  // Numerical Recipes erfc, fractional error < 1.2e-7
        float t = 1.0 / (1.0 + 0.5 * z);
        float c = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196
            + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398
            + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        r = 1.0 - c;
    }
    return x < 0.0 ? -r : r;
}
float f_div(float a, float b) {
    if (b == 0.0) {
        if (isNaN(a) || a == 0.0) return NAN;
        bool neg = (a < 0.0) != (floatBitsToUint(b) > 0x7fffffffu);
        return neg ? -INF : INF;
    }
    return a / b;
}
float f_reciprocal(float x) { return f_div(1.0, x); }
bool f_oddint(float b) { return abs(b) < 16777216.0 && b == floor(b) && mod(b, 2.0) == 1.0; }
float f_pow(float a, float b) {
    if (b == 0.0) return 1.0;
    if (isNaN(a) || isNaN(b)) return NAN;
    if (a == 0.0) {
        if (b > 0.0) return (f_oddint(b) && floatBitsToUint(a) > 0x7fffffffu) ? -0.0 : 0.0;
        return (f_oddint(b) && floatBitsToUint(a) > 0x7fffffffu) ? -INF : INF;
    }
    if (b == 1.0) return a;
    if (b == 2.0) return a * a;
    if (b == 0.5) return f_sqrt(a);
    if (b == -1.0) return 1.0 / a;
    float r = exp2(b * log2(abs(a)));
    if (a < 0.0) {
        if (b != floor(b)) return NAN;
        if (f_oddint(b)) r = -r;
    }
    return r;
}
// integer pow: exact by repeated squaring (b >= 0)
float i_pow(float a, float b) {
    float r = 1.0;
    int e = int(b);
    float p = a;
    for (int k = 0; k < 64; k++) {
        if (e <= 0) break;
        if ((e & 1) == 1) r *= p;
        p *= p;
        e >>= 1;
    }
    return r;
}
float f_maximum(float a, float b) { return (a > b || isNaN(a)) ? a : b; }
float f_minimum(float a, float b) { return (a < b || isNaN(a)) ? a : b; }
float f_floordiv(float a, float b) {
    if (b == 0.0) return f_div(a, b);
    float q = floor(a / b);
    // torch/Python: floor of the exact quotient; correct a rounded a / b
    float r = a - q * b;
    if (b > 0.0 ? r < 0.0 : r > 0.0) q -= 1.0;
    else if (b > 0.0 ? r >= b : r <= b) q += 1.0;
    return q;
}
float f_mod(float a, float b) {
    if (b == 0.0) return NAN;
    float r = a - floor(a / b) * b;
    if (b > 0.0 ? r < 0.0 : r > 0.0) r += b;
    else if (b > 0.0 ? r >= b : r <= b) r -= b;
    return r;
}
float i_mod(float a, float b) { return a - f_floordiv(a, b) * b; }
// float -> int64: truncation; NaN, inf and out-of-range values give INT64_MIN like torch
float f_trunc(float x) {
    if (isNaN(x) || abs(x) >= 9.223372036854775808e18) return -9.223372036854775808e18;
    return abs(x) < 8388608.0 ? trunc(x) : x;
}
float f_round(float x) { return abs(x) < 8388608.0 ? roundEven(x) : x; }
float f_bool(bool v) { return v ? 1.0 : 0.0; }
// the remaining ops, so that every op of the backend's unary / binary is the function named
// after it: f_<op>(a) or f_<op>(a, b), i_<op>(a, b) the int64 variant where one differs
float f_neg(float x) { return -x; }
float f_abs(float x) { return abs(x); }
float f_floor(float x) { return abs(x) < 8388608.0 ? floor(x) : x; }
float f_ceil(float x) { return abs(x) < 8388608.0 ? ceil(x) : x; }
float f_sin(float x) { return f_trig(x, true); }
float f_cos(float x) { return f_trig(x, false); }
float f_logical_not(float x) { return f_bool(x == 0.0); }
float f_add(float a, float b) { return a + b; }
float f_sub(float a, float b) { return a - b; }
float f_mul(float a, float b) { return a * b; }
float f_lt(float a, float b) { return f_bool(a < b); }
float f_le(float a, float b) { return f_bool(a <= b); }
float f_gt(float a, float b) { return f_bool(a > b); }
float f_ge(float a, float b) { return f_bool(a >= b); }
float f_eq(float a, float b) { return f_bool(a == b); }
float f_ne(float a, float b) { return f_bool(a != b); }
float f_logical_and(float a, float b) { return f_bool(a != 0.0 && b != 0.0); }
float f_logical_or(float a, float b) { return f_bool(a != 0.0 || b != 0.0); }
float i_maximum(float a, float b) { return max(a, b); }
float i_minimum(float a, float b) { return min(a, b); }

#ifdef VEC
// Every input is either contiguous and 4-aligned over a texel's four elements (VECk 1: one
// fetch loads them) or constant over them (VECk 2: a broadcast along the innermost dim):
// the indices are computed once per texel, not once per element.
vec4 load(sampler2D t, ivec2 w, int j, int mode) {
    return mode == 1 ? fetch4(t, w, j >> 2) : vec4(fetch(t, w, j));
}

void main() {
    int i = outIndex();
    if (i >= u_n) {
        outColor = vec4(0.0);
  #ifdef OP1
        outColor1 = vec4(0.0);
  #endif
  #ifdef OP2
        outColor2 = vec4(0.0);
  #endif
  #ifdef OP3
        outColor3 = vec4(0.0);
  #endif
        return;
    }
#elif defined(MRT)
vec4 value(int i) {
#else
float value(int i) {
#endif
    int rem = i;
#if NIN > 0
    int j0 = u_off0;
#endif
#if NIN > 1
    int j1 = u_off1;
#endif
#if NIN > 2
    int j2 = u_off2;
#endif
#if NIN > 3
    int j3 = u_off3;
#endif
#if NIN > 4
    int j4 = u_off4;
#endif
    for (int dim = RANK - 1; dim >= 0; dim--) {
        int n = u_shape[dim];
        int k = rem % n;
        rem /= n;
#if NIN > 0
        j0 += k * u_st0[dim];
#endif
#if NIN > 1
        j1 += k * u_st1[dim];
#endif
#if NIN > 2
        j2 += k * u_st2[dim];
#endif
#if NIN > 3
        j3 += k * u_st3[dim];
#endif
#if NIN > 4
        j4 += k * u_st4[dim];
#endif
    }
#ifdef VEC
    vec4 a = vec4(0.0), b = vec4(0.0), c = vec4(0.0), d = vec4(0.0), e = vec4(0.0);
  #if NIN > 0
    a = load(u_in0, u_w0, j0, VEC0);
  #endif
  #if NIN > 1
    b = load(u_in1, u_w1, j1, VEC1);
  #endif
  #if NIN > 2
    c = load(u_in2, u_w2, j2, VEC2);
  #endif
  #if NIN > 3
    d = load(u_in3, u_w3, j3, VEC3);
  #endif
  #if NIN > 4
    e = load(u_in4, u_w4, j4, VEC4);
  #endif
    outColor = EVAL4(OP);
  #ifdef OP1
    outColor1 = EVAL4(OP1);
  #endif
  #ifdef OP2
    outColor2 = EVAL4(OP2);
  #endif
  #ifdef OP3
    outColor3 = EVAL4(OP3);
  #endif
}
#else
    float a = 0.0, b = 0.0, c = 0.0, d = 0.0, e = 0.0;
  #if NIN > 0
    a = fetch(u_in0, u_w0, j0);
  #endif
  #if NIN > 1
    b = fetch(u_in1, u_w1, j1);
  #endif
  #if NIN > 2
    c = fetch(u_in2, u_w2, j2);
  #endif
  #if NIN > 3
    d = fetch(u_in3, u_w3, j3);
  #endif
  #if NIN > 4
    e = fetch(u_in4, u_w4, j4);
  #endif
  #ifdef MRT
    #ifdef OP3
    return vec4(EVAL(OP), EVAL(OP1), EVAL(OP2), EVAL(OP3));
    #elif defined(OP2)
    return vec4(EVAL(OP), EVAL(OP1), EVAL(OP2), 0.0);
    #else
    return vec4(EVAL(OP), EVAL(OP1), 0.0, 0.0);
    #endif
}

void main() {
    int i = outIndex();
    vec4 v0 = i < u_n ? value(i) : vec4(0.0);
    vec4 v1 = i + 1 < u_n ? value(i + 1) : vec4(0.0);
    vec4 v2 = i + 2 < u_n ? value(i + 2) : vec4(0.0);
    vec4 v3 = i + 3 < u_n ? value(i + 3) : vec4(0.0);
    outColor = vec4(v0.x, v1.x, v2.x, v3.x);
    outColor1 = vec4(v0.y, v1.y, v2.y, v3.y);
    #ifdef OP2
    outColor2 = vec4(v0.z, v1.z, v2.z, v3.z);
    #endif
    #ifdef OP3
    outColor3 = vec4(v0.w, v1.w, v2.w, v3.w);
    #endif
}
  #else
    return EVAL(OP);
}

MAIN_4_VALUES
  #endif
#endif
