// out[i] = start + i * step
uniform float u_start;
uniform float u_step;

void main() {
    int i = outIndex();
    if (i >= u_n) { store(0.0); return; }
    store(u_start + float(i) * u_step);
}
