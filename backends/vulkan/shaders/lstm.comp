#version 450
// One LSTM time step's cell, forward or backward, for every (batch, unit);
// the GEMMs around it are gemm.comp's. Gate order i, f, g, o as PyTorch's.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer B0 { float b0[]; };
layout(std430, set = 0, binding = 1) buffer B1 { float b1[]; };
layout(std430, set = 0, binding = 2) buffer B2 { float b2[]; };
layout(std430, set = 0, binding = 3) buffer B3 { float b3[]; };
layout(std430, set = 0, binding = 4) buffer B4 { float b4[]; };

layout(push_constant) uniform PC {
  uint op, nb, nt, nh, t;
} pc;

float sigm(float x) { return 1.0 / (1.0 + exp(-x)); }
float tanh_safe(float x) { return tanh(clamp(x, -15.0, 15.0)); }

void main() {
  uint idx = flat_group() * 256u + gl_LocalInvocationID.x;
  if (idx >= pc.nb * pc.nh) return;
  uint b = idx / pc.nh, u = idx % pc.nh, H = pc.nh, t = pc.t;
  uint row = b * pc.nt + t; // (b, t)
  if (pc.op == 0u) {        // gates b0 [B,T,4H] (pre-activation, all terms), y b1, cache b2
    uint z = row * 4u * H;
    float gi = sigm(b0[z + u]), gf = sigm(b0[z + H + u]);
    float gg = tanh_safe(b0[z + 2u * H + u]), go = sigm(b0[z + 3u * H + u]);
    float cp = t > 0u ? b2[(row - 1u) * 5u * H + 4u * H + u] : 0.0;
    float c = gf * cp + gi * gg;
    uint k = row * 5u * H;
    b2[k + u] = gi;
    b2[k + H + u] = gf;
    b2[k + 2u * H + u] = gg;
    b2[k + 3u * H + u] = go;
    b2[k + 4u * H + u] = c;
    b1[row * H + u] = go * tanh_safe(c);
  } else { // dy b0, cache b1, dh_next b2 [B,H], dc b3 [B,H], dz b4 [B,T,4H]
    uint k = row * 5u * H;
    float gi = b1[k + u], gf = b1[k + H + u], gg = b1[k + 2u * H + u], go = b1[k + 3u * H + u];
    float tc = tanh_safe(b1[k + 4u * H + u]);
    bool last = t + 1u == pc.nt;
    float dh = b0[row * H + u] + (last ? 0.0 : b2[b * H + u]);
    float dc = (last ? 0.0 : b3[b * H + u]) + dh * go * (1.0 - tc * tc);
    float cp = t > 0u ? b1[(row - 1u) * 5u * H + 4u * H + u] : 0.0;
    uint z = row * 4u * H;
    b4[z + u] = dc * gg * gi * (1.0 - gi);
    b4[z + H + u] = dc * cp * gf * (1.0 - gf);
    b4[z + 2u * H + u] = dc * gi * (1.0 - gg * gg);
    b4[z + 3u * H + u] = dh * tc * go * (1.0 - go);
    b3[b * H + u] = dc * gf;
  }
}
