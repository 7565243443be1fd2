// Shared prelude of every distml kernel (Python prepends "#version 300 es" and the
// kernel's #defines, then this file, then the kernel family's file).
//
// Layout: a buffer lives in an RGBA32F texture of width W texels (a power of two); the
// element at flat storage index i is component i % 4 of texel q = i / 4, which sits at
// (q % W, q / W), computed with a mask and a shift (integer division is slow on software
// GPUs): inputs pass u_wK = (W - 1, log2 W). u_outW is the output texture's width, u_n the
// number of output elements (past it, the last texels are padding). Four elements per
// texel: a fragment's fixed cost is paid once per four outputs, and contiguous inputs
// load four elements with one fetch.
precision highp float;
precision highp int;
precision highp sampler2D;

uniform int u_outW;
uniform int u_n;
#ifndef MRT  // kernels with several render targets declare their own outputs
out vec4 outColor;
#endif

const float INF = uintBitsToFloat(0x7f800000u);
const float NAN = uintBitsToFloat(0x7fc00000u);

// the index of the first of this fragment's four output elements
int outIndex() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    return 4 * (p.y * u_outW + p.x);
}

// texel q (elements 4q .. 4q + 3) of an input
vec4 fetch4(sampler2D t, ivec2 w, int q) {
    return texelFetch(t, ivec2(q & w.x, q >> w.y), 0);
}

// component c of v: a select, not v[c] (dynamic indexing is slow on SwiftShader)
float pick(vec4 v, int c) {
    return c == 0 ? v.x : (c == 1 ? v.y : (c == 2 ? v.z : v.w));
}

// element i of an input
float fetch(sampler2D t, ivec2 w, int i) {
    return pick(fetch4(t, w, i >> 2), i & 3);
}

// a NaN test the compiler cannot fold away
bool isNaN(float x) {
    return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u;
}

// sin / cos to float32 accuracy (the GPU's builtins may be far coarser: SwiftShader's are
// off by ~2e-4). quarterTurn(r, q) = sin(r + q * pi / 2) for |r| <= pi / 4, from Cephes'
// sinf/cosf polynomials; f_trig reduces x by pi/2 (Cody-Waite, three-part constant).
float quarterTurn(float r, int q) {
    float z = r * r;
    float sr = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
    float cr = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3
        + z * 2.443315711809948e-5));
    q &= 3;
    return q == 0 ? sr : (q == 1 ? cr : (q == 2 ? -sr : -cr));
}

float f_trig(float x, bool s) {
    if (isNaN(x) || abs(x) == INF) return NAN;
    float k = floor(x * 0.6366197723675814 + 0.5);
    float r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
    return quarterTurn(r, int(mod(k, 4.0)) + (s ? 0 : 1));  // cos(x) = sin(x + pi/2)
}

// natural log to float32 accuracy for finite x > 0 (Cephes logf; the builtin may lose
// relative accuracy near 1, which Box-Muller amplifies)
float preciseLog(float x) {
    int bits = floatBitsToInt(x);
    float e = float(((bits >> 23) & 0xff) - 126);
    float m = intBitsToFloat((bits & 0x807fffff) | 0x3f000000);  // [0.5, 1)
    if (m < 0.70710678118654752) { m += m; e -= 1.0; }
    float f = m - 1.0;
    float z = f * f;
    float y = f * z * (((((((((7.0376836292e-2 * f - 1.1514610310e-1) * f + 1.1676998740e-1)
        * f - 1.2420140846e-1) * f + 1.4249322787e-1) * f - 1.6668057665e-1) * f
        + 2.0000714765e-1) * f - 2.4999993993e-1) * f + 3.3333331174e-1));
    y += -2.12194440e-4 * e;
    y += -0.5 * z;
    return (f + y) + 0.693359375 * e;
}

// Kernels with one formula per output element define `float value(int i)` and end with
// MAIN_4_VALUES: a fragment evaluates it for its four elements.
#define MAIN_4_VALUES void main() { int i = outIndex(); outColor = vec4(i < u_n ? value(i) : 0.0, i + 1 < u_n ? value(i + 1) : 0.0, i + 2 < u_n ? value(i + 2) : 0.0, i + 3 < u_n ? value(i + 3) : 0.0); }
