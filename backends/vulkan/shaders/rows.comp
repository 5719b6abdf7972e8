#version 450
// Ops over the last axis of a row-major tensor: softmax (optionally causal,
// for attention), softmax_bwd (optionally scaled), layernorm and layernorm_bwd.
// One workgroup per row; its threads stride over the row.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) buffer B0 { float b0[]; };
layout(std430, set = 0, binding = 1) buffer B1 { float b1[]; };
layout(std430, set = 0, binding = 2) buffer B2 { float b2[]; };
layout(std430, set = 0, binding = 3) buffer B3 { float b3[]; };
layout(std430, set = 0, binding = 4) buffer B4 { float b4[]; };

layout(push_constant) uniform PC {
  uint op, rows, f;
  uint causal; // softmax: row r keeps columns <= r % f
  float f0;    // layernorm: eps; softmax_bwd: scale
} pc;

const uint SOFTMAX = 0, SOFTMAX_BWD = 1, LAYERNORM = 2, LAYERNORM_BWD = 3;

shared float red[64];

float sum64(float v) {
  uint tid = gl_LocalInvocationID.x;
  barrier(); // the previous reduction's result has been read
  red[tid] = v;
  barrier();
  [[unroll]] for (uint s = 32u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  return red[0];
}

float max64(float v) {
  uint tid = gl_LocalInvocationID.x;
  barrier();
  red[tid] = v;
  barrier();
  [[unroll]] for (uint s = 32u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] = max(red[tid], red[tid + s]);
    barrier();
  }
  return red[0];
}

void main() {
  uint r = flat_group();
  if (r >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x, f = pc.f, base = r * f;
  if (pc.op == SOFTMAX) { // x b0, y b1 (may be the same bytes)
    uint keep = pc.causal != 0u ? r % f + 1u : f;
    float m = -3.402823466e38;
    for (uint j = tid; j < keep; j += 64u) m = max(m, b0[base + j]);
    m = max64(m);
    float s = 0.0;
    for (uint j = tid; j < keep; j += 64u) s += exp(b0[base + j] - m);
    s = sum64(s);
    for (uint j = tid; j < f; j += 64u) b1[base + j] = j < keep ? exp(b0[base + j] - m) / s : 0.0;
  } else if (pc.op == SOFTMAX_BWD) { // dy b0, y b1, dx b2 (may be dy's bytes)
    float d = 0.0;
    for (uint j = tid; j < f; j += 64u) d += b0[base + j] * b1[base + j];
    d = sum64(d);
    for (uint j = tid; j < f; j += 64u)
      b2[base + j] = pc.f0 * b1[base + j] * (b0[base + j] - d);
  } else if (pc.op == LAYERNORM) { // x b0, gamma b1, beta b2, y b3
    float s = 0.0;
    for (uint j = tid; j < f; j += 64u) s += b0[base + j];
    float mean = sum64(s) / float(f);
    float v = 0.0;
    for (uint j = tid; j < f; j += 64u) {
      float d = b0[base + j] - mean;
      v += d * d;
    }
    float rstd = inversesqrt(sum64(v) / float(f) + pc.f0);
    for (uint j = tid; j < f; j += 64u)
      b3[base + j] = (b0[base + j] - mean) * rstd * b1[j] + b2[j];
  } else { // LAYERNORM_BWD: dy b0, x b1, gamma b2, dx b3, dy*xhat b4 (for dgamma)
    float s = 0.0;
    for (uint j = tid; j < f; j += 64u) s += b1[base + j];
    float mean = sum64(s) / float(f);
    float v = 0.0;
    for (uint j = tid; j < f; j += 64u) {
      float d = b1[base + j] - mean;
      v += d * d;
    }
    float rstd = inversesqrt(sum64(v) / float(f) + pc.f0);
    float sg = 0.0, sgx = 0.0;
    for (uint j = tid; j < f; j += 64u) {
      float xh = (b1[base + j] - mean) * rstd, g = b0[base + j] * b2[j];
      sg += g;
      sgx += g * xh;
    }
    sg = sum64(sg) / float(f);
    sgx = sum64(sgx) / float(f);
    for (uint j = tid; j < f; j += 64u) {
      float xh = (b1[base + j] - mean) * rstd, dy = b0[base + j];
      b3[base + j] = rstd * (dy * b2[j] - sg - xh * sgx);
      b4[base + j] = dy * xh;
    }
  }
}
