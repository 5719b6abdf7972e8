#version 450
// softmax_ce per row (the batch mean is a reduce afterwards) and its
// backward. A label outside [0, C) is recorded in the error buffer, which
// sync reports; the row's result is then NaN.
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) buffer B0 { float logits[]; };
layout(std430, set = 0, binding = 1) buffer B1 { int labels[]; };
layout(std430, set = 0, binding = 2) buffer B2 { float out_[]; }; // row losses, or dlogits
layout(std430, set = 0, binding = 3) buffer B3 { float dloss[]; };

layout(push_constant) uniform PC {
  uint op, rows, c, node;
} pc;

const uint ERR_LABEL = 1;
shared float red[64];

float reduce64(float v, bool is_max) {
  uint tid = gl_LocalInvocationID.x;
  barrier();
  red[tid] = v;
  barrier();
  [[unroll]] for (uint s = 32u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] = is_max ? max(red[tid], red[tid + s]) : red[tid] + red[tid + s];
    barrier();
  }
  return red[0];
}

void main() {
  uint r = flat_group();
  if (r >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x, base = r * pc.c;
  int label = labels[r];
  bool bad = label < 0 || uint(label) >= pc.c;
  if (bad && tid == 0u) report_error(ERR_LABEL, pc.node, r, uint(label));
  float m = -3.402823466e38;
  for (uint j = tid; j < pc.c; j += 64u) m = max(m, logits[base + j]);
  m = reduce64(m, true);
  // sum exp(x - m) = ties + rest, kept apart so that 1 - p of a row's clear
  // winner (rest tiny) and log(sum) keep their digits
  float ties = 0.0, rest = 0.0;
  for (uint j = tid; j < pc.c; j += 64u) {
    float x = logits[base + j];
    if (x == m) ties += 1.0;
    else rest += exp(x - m);
  }
  ties = reduce64(ties, false);
  rest = reduce64(rest, false);
  float over = ties - 1.0 + rest, s = 1.0 + over; // s = sum exp(x - m) >= 1
  float log_s = over < 1e-4 ? over * (1.0 - over * (0.5 - over / 3.0)) : log(s);
  const float nan_ = uintBitsToFloat(0x7fc00000u);
  if (pc.op == 0u) {
    uint at = uint(clamp(label, 0, int(pc.c) - 1)); // never read outside the row
    if (tid == 0u) out_[r] = bad ? nan_ : m + log_s - logits[base + at];
  } else {
    float scale = dloss[0] / float(pc.rows);
    for (uint j = tid; j < pc.c; j += 64u) {
      float x = logits[base + j], g;
      if (int(j) != label) g = exp(x - m) / s;
      else if (x == m) g = -over / s; // p - 1 without cancelling
      else g = exp(x - m) / s - 1.0;
      out_[base + j] = bad ? nan_ : g * scale;
    }
  }
}
