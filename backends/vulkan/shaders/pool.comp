#version 450
// maxpool2d (no padding, floor) and its backward. The backward gathers: each
// input element sums dy over the windows whose first maximum it is, so no
// atomics and the same order every run.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer B0 { float b0[]; };
layout(std430, set = 0, binding = 1) buffer B1 { float b1[]; };
layout(std430, set = 0, binding = 2) buffer B2 { float b2[]; };

layout(push_constant) uniform PC {
  uint op, n; // n: output elements (forward) or input elements (backward)
  uint h, w, oh, ow, kh, kw, sh, sw;
} pc;

// Index within the window of its first maximum (row-major scan).
uint argmax_window(uint plane, uint oy, uint ox, const bool bwd) {
  uint best = 0;
  float m = 0.0;
  for (uint i = 0; i < pc.kh; i++)
    for (uint j = 0; j < pc.kw; j++) {
      float v = bwd ? b1[plane + (oy * pc.sh + i) * pc.w + ox * pc.sw + j]
                    : b0[plane + (oy * pc.sh + i) * pc.w + ox * pc.sw + j];
      if ((i == 0u && j == 0u) || v > m) {
        m = v;
        best = i * pc.kw + j;
      }
    }
  return best;
}

void main() {
  uint idx = flat_group() * 256u + gl_LocalInvocationID.x;
  if (idx >= pc.n) return;
  if (pc.op == 0u) { // x b0, y b1
    uint ox = idx % pc.ow, oy = (idx / pc.ow) % pc.oh, nc = idx / (pc.ow * pc.oh);
    uint plane = nc * pc.h * pc.w, a = argmax_window(plane, oy, ox, false);
    b1[idx] = b0[plane + (oy * pc.sh + a / pc.kw) * pc.w + ox * pc.sw + a % pc.kw];
  } else { // dy b0, x b1, dx b2
    uint x = idx % pc.w, y = (idx / pc.w) % pc.h, nc = idx / (pc.w * pc.h);
    uint plane = nc * pc.h * pc.w;
    // windows oy with oy*sh <= y < oy*sh + kh
    uint oy0 = y + 1u > pc.kh ? (y + 1u - pc.kh + pc.sh - 1u) / pc.sh : 0u;
    uint ox0 = x + 1u > pc.kw ? (x + 1u - pc.kw + pc.sw - 1u) / pc.sw : 0u;
    float acc = 0.0;
    for (uint oy = oy0; oy <= y / pc.sh && oy < pc.oh; oy++)
      for (uint ox = ox0; ox <= x / pc.sw && ox < pc.ow; ox++) {
        uint a = argmax_window(plane, oy, ox, true);
        if (oy * pc.sh + a / pc.kw == y && ox * pc.sw + a % pc.kw == x)
          acc += b0[(nc * pc.oh + oy) * pc.ow + ox];
      }
    b2[idx] = acc;
  }
}
