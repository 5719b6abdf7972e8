#version 450
// FP32 FMA peak: 16 independent chains of `iters` x 16 FMAs per invocation
// (2 FLOPs each), written out so the compiler cannot drop them.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) buffer B0 { float b0[]; };
layout(push_constant) uniform PC { uint iters; float seed; } pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  float x[16];
  [[unroll]] for (int k = 0; k < 16; k++) x[k] = pc.seed + float(i + uint(k));
  const float a = 0.9999, b = 1e-4;
  for (uint it = 0; it < pc.iters; it++)
    [[unroll]] for (int r = 0; r < 16; r++) [[unroll]] for (int k = 0; k < 16; k++) x[k] = fma(x[k], a, b);
  float s = 0.0;
  [[unroll]] for (int k = 0; k < 16; k++) s += x[k];
  b0[i] = s;
}
