#version 300 es
// Placeholder kernel: copies one texel of the input texture to the output.
precision highp float;
precision highp sampler2D;

uniform sampler2D u_input;
out vec4 outColor;

void main() {
    outColor = texelFetch(u_input, ivec2(gl_FragCoord.xy), 0);
}
