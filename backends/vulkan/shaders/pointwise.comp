#version 450
// Ops where each output element depends on a few input elements: activations
// and their backwards, broadcast add/mul, strided gathers (permute, slice,
// slice_bwd, mean_bwd), fill and the optimizer updates. One invocation per
// element, so no invocation loops at all.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer B0 { float b0[]; };
layout(std430, set = 0, binding = 1) buffer B1 { float b1[]; };
layout(std430, set = 0, binding = 2) buffer B2 { float b2[]; };
layout(std430, set = 0, binding = 3) buffer B3 { float b3[]; };
layout(std430, set = 0, binding = 4) buffer B4 { float b4[]; };

layout(push_constant) uniform PC {
  uint op, n;
  uint d0, d1, d2, d3; // output dims, leading 1s
  uint s0, s1, s2, s3; // the gathered operand's strides per output axis
  uint goff;           // the gathered operand's first element
  int wax;             // axis with a window (slice_bwd), -1: none
  uint wlo, whi;
  float f0, f1, f2, f3, f4, f5;
} pc;

const uint GATHER = 0, RELU = 1, GELU = 2, TANH = 3, SIGMOID = 4, RELU_BWD = 5, GELU_BWD = 6,
           TANH_BWD = 7, SIGMOID_BWD = 8, ADD = 9, MUL = 10, FILL = 11, SGD = 12, ADAM = 13,
           INC = 14;

// Abramowitz-Stegun 7.1.26: |error| < 1.5e-7; GLSL has no erf.
float erf_as(float x) {
  float t = 1.0 / (1.0 + 0.3275911 * abs(x));
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t +
                   0.254829592) * t * exp(-x * x);
  return sign(x) * y;
}

// Some drivers' tanh returns NaN for large |x|; tanh(15) is 1 in f32.
float tanh_safe(float x) { return tanh(clamp(x, -15.0, 15.0)); }
float sigm(float x) { return 1.0 / (1.0 + exp(-x)); }

// Returns false when the element lies outside the window (slice_bwd's zeros).
bool gather(uint i, out uint at) {
  uint c3 = i % pc.d3;
  i /= pc.d3;
  uint c2 = i % pc.d2;
  i /= pc.d2;
  uint c1 = i % pc.d1;
  uint c0 = i / pc.d1;
  uint c[4] = uint[4](c0, c1, c2, c3);
  if (pc.wax >= 0) {
    uint w = c[pc.wax];
    if (w < pc.wlo || w >= pc.whi) return false;
    c[pc.wax] = w - pc.wlo;
  }
  at = pc.goff + c[0] * pc.s0 + c[1] * pc.s1 + c[2] * pc.s2 + c[3] * pc.s3;
  return true;
}

// 1 - beta^t from ln(beta) (given in f32 from a double on the host): the
// series keeps the relative error small when beta^t is close to 1.
float one_minus_pow(float ln_beta, float t) {
  float x = ln_beta * t;
  if (abs(x) < 1e-2) return -(x + x * x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0))));
  return 1.0 - exp(x);
}

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint at;
  switch (pc.op) {
  case GATHER: b1[i] = gather(i, at) ? b0[at] * pc.f0 : 0.0; break;
  case RELU: b1[i] = max(b0[i], 0.0); break;
  case GELU: {
    float x = b0[i];
    b1[i] = 0.5 * x * (1.0 + erf_as(x * 0.70710678118654752));
    break;
  }
  case TANH: b1[i] = tanh_safe(b0[i]); break;
  case SIGMOID: b1[i] = sigm(b0[i]); break;
  case RELU_BWD: b2[i] = b1[i] > 0.0 ? b0[i] : 0.0; break;
  case GELU_BWD: {
    float x = b1[i];
    float cdf = 0.5 * (1.0 + erf_as(x * 0.70710678118654752));
    float pdf = 0.39894228040143268 * exp(-0.5 * x * x);
    b2[i] = b0[i] * (cdf + x * pdf);
    break;
  }
  case TANH_BWD: {
    float t = tanh_safe(b1[i]);
    b2[i] = b0[i] * (1.0 - t * t);
    break;
  }
  case SIGMOID_BWD: {
    float s = sigm(b1[i]);
    b2[i] = b0[i] * s * (1.0 - s);
    break;
  }
  case ADD: gather(i, at); b2[i] = b0[i] + b1[at]; break;
  case MUL: gather(i, at); b2[i] = b0[i] * b1[at]; break;
  case FILL: b0[i] = pc.f0; break;
  case SGD: { // p, g, v; f0 lr, f1 momentum
    float v = pc.f1 * b2[i] + b1[i];
    b2[i] = v;
    b0[i] = b0[i] - pc.f0 * v;
    break;
  }
  case ADAM: { // p, g, m, v, step (incremented by a later INC); f0 lr, f1 b1, f2 b2, f3 eps,
               // f4 ln b1, f5 ln b2
    float t = b4[0] + 1.0, g = b1[i];
    float m = pc.f1 * b2[i] + (1.0 - pc.f1) * g;
    float v = pc.f2 * b3[i] + (1.0 - pc.f2) * g * g;
    b2[i] = m;
    b3[i] = v;
    float step_size = pc.f0 / one_minus_pow(pc.f4, t);
    float bc2_sqrt = sqrt(one_minus_pow(pc.f5, t));
    b0[i] = b0[i] - step_size * m / (sqrt(v) / bc2_sqrt + pc.f3);
    break;
  }
  case INC: b0[i] = b0[i] + 1.0; break;
  }
}
