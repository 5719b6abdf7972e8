#version 450
// Sums over any subset of (up to) four axes, times a scale: sum_to, mean,
// bias gradients, split-K partials. One workgroup per output element; its
// threads stride over the reduced elements, then a tree in shared memory.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer B0 { float x[]; };
layout(std430, set = 0, binding = 1) buffer B1 { float y[]; };

layout(push_constant) uniform PC {
  uint n_out, n_red;
  uint d0, d1, d2, d3; // x's dims, leading 1s
  uint mask;           // bit k: axis k is reduced
  float scale;
} pc;

shared float part[256];

// The offset in x of element `idx` of the index space made of the axes whose
// mask bit equals `reduced` (row-major over those axes).
uint offset_of(uint idx, uint reduced) {
  uint d[4] = uint[4](pc.d0, pc.d1, pc.d2, pc.d3);
  uint off = 0, stride = 1;
  [[unroll]] for (int k = 3; k >= 0; k--) {
    if (((pc.mask >> k) & 1u) == reduced) {
      off += (idx % d[k]) * stride;
      idx /= d[k];
    }
    stride *= d[k];
  }
  return off;
}

void main() {
  uint o = flat_group();
  if (o >= pc.n_out) return;
  uint base = offset_of(o, 0u), tid = gl_LocalInvocationID.x;
  float acc = 0.0;
  for (uint r = tid; r < pc.n_red; r += 256u) acc += x[base + offset_of(r, 1u)];
  part[tid] = acc;
  barrier();
  [[unroll]] for (uint s = 128u; s > 0u; s >>= 1) {
    if (tid < s) part[tid] += part[tid + s];
    barrier();
  }
  if (tid == 0u) y[o] = part[0] * pc.scale;
}
