// out[i] = start + i * step
uniform float u_start;
uniform float u_step;

float value(int i) {
    return u_start + float(i) * u_step;
}

MAIN_4_VALUES
