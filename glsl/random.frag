// Counter-based random numbers, bit for bit distml/random.py: element i is a hash of
// (seed, offset + i) with the lowbias32 mixer; uint arithmetic wraps mod 2^32 in GLSL.
//   MODE 0 uniform [0, 1) (24 bits), 1 standard normal (Box-Muller over two streams)
uniform uint u_offset;
uniform uint u_k0;
uniform uint u_k1;

uint hash32(uint x) {
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

const float INV24 = 1.0 / 16777216.0;

float value(int i) {
    uint h = hash32(u_offset + uint(i));
    uint b0 = hash32(u_k0 ^ h);
#if MODE == 0
    return float(b0 >> 8) * INV24;
#else
    uint b1 = hash32(u_k1 ^ h);
    float u1 = float((b0 >> 8) + 1u) * INV24;
    float u2 = float(b1 >> 8) * INV24;
    // cos(2 pi u2) by exact quarter turns: u2 * 4 - k is exact, |r| <= pi / 4
    float k = floor(u2 * 4.0 + 0.5);
    float r = (u2 * 4.0 - k) * 1.5707963267948966;
    float cs = quarterTurn(r, int(k) + 1);
    return sqrt(-2.0 * preciseLog(u1)) * cs;
#endif
}

MAIN_4_VALUES
