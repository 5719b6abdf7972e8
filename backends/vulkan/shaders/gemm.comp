#version 450
// The tiled GEMM every GEMM-shaped op runs on: C = alpha * A B (+ bias)
// (+ C), batched over gl_WorkGroupID.z, with A and B read through loaders
// that make convolutions implicit GEMMs (no im2col buffer). Tile sizes
// come from the build (BM x BN per workgroup of 256 threads, TM x TN per
// thread, BK deep). Shapes, strides and offsets are push constants.
#include "common.glsl"

#ifndef BM
#define BM 64
#define BN 64
#define TM 4
#define TN 4
#endif
#define BK 16
#define NTX (BN / TN)
#define NTY (BM / TM)
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer BA { float a[]; };
layout(std430, set = 0, binding = 1) buffer BB { float b[]; };
layout(std430, set = 0, binding = 2) buffer BC { float c[]; };
layout(std430, set = 0, binding = 3) buffer BD { float bias[]; };

layout(push_constant) uniform PC {
  uint m, n, k;
  uint mode;  // 0 matrices, 1 conv forward, 2 conv backward data, 3 conv backward weight
  uint flags; // 1 bias per column, 2 bias per row, 4 accumulate into C, 8 split-K over z
  uint nb2;   // batch index z = z1 * nb2 + z2
  uint a_off, a_s1, a_s2, a_sm, a_sk;
  uint b_off, b_s1, b_s2, b_sk, b_sn;
  uint c_off, c_s1, c_s2, c_sm;
  uint kchunk; // split-K: k range of one z
  float alpha;
  uint cv_c, cv_hw, cv_ohw, cv_k, cv_pad; // conv: C; H|W<<16; OH|OW<<16; KH|KW<<8|SH<<16|SW<<24;
                                          // PH|PW<<16
} pc;

shared float As[BK][BM];
shared float Bs[BK][BN];

uint H, W, OH, OW, KH, KW, SH, SW, PH, PW;

// Input pixel (c, y, x) of image base `img` for output pixel p and kernel tap r,
// or -1 in the padding.
int conv_tap(uint p, uint r, out uint yx) {
  int y = int((p / OW) * SH + r / KW) - int(PH);
  int x = int((p % OW) * SW + r % KW) - int(PW);
  if (y < 0 || x < 0 || y >= int(H) || x >= int(W)) return -1;
  yx = uint(y) * W + uint(x);
  return 0;
}

float load_a(uint aoff, uint i, uint kk) {
  if (pc.mode == 0u || pc.mode == 1u) return a[aoff + i * pc.a_sm + kk * pc.a_sk];
  if (pc.mode == 2u) { // w[o, c, r] with i = c, kk = (o, r)
    uint kt = KH * KW, o = kk / kt;
    return a[(o * pc.cv_c + i) * kt + kk % kt];
  }
  // mode 3: dy[n, o, p] with i = o, kk = (n, p)
  uint P = OH * OW, nn = kk / P;
  return a[(nn * pc.m + i) * P + kk % P];
}

float load_b(uint boff, uint kk, uint j) {
  if (pc.mode == 0u) return b[boff + kk * pc.b_sk + j * pc.b_sn];
  uint kt = KH * KW, yx;
  if (pc.mode == 1u) { // x[n, c, tap(j, r)] with kk = (c, r), j = output pixel
    uint ch = kk / kt;
    return conv_tap(j, kk % kt, yx) < 0 ? 0.0 : b[boff + ch * H * W + yx];
  }
  if (pc.mode == 2u) { // dy[n, o, oy, ox] with kk = (o, r), j = input pixel (y, x)
    uint o = kk / kt, r = kk % kt;
    int ny = int(j / W) + int(PH) - int(r / KW), nx = int(j % W) + int(PW) - int(r % KW);
    if (ny < 0 || nx < 0 || ny % int(SH) != 0 || nx % int(SW) != 0) return 0.0;
    uint oy = uint(ny) / SH, ox = uint(nx) / SW;
    if (oy >= OH || ox >= OW) return 0.0;
    return b[boff + (o * OH + oy) * OW + ox];
  }
  // mode 3: x[n, c, tap(p, r)] with kk = (n, p), j = (c, r)
  uint P = OH * OW, nn = kk / P, ch = j / kt;
  return conv_tap(kk % P, j % kt, yx) < 0 ? 0.0
                                          : b[((nn * pc.cv_c + ch) * H) * W + yx];
}

void geometry() {
  H = pc.cv_hw & 0xffffu, W = pc.cv_hw >> 16, OH = pc.cv_ohw & 0xffffu, OW = pc.cv_ohw >> 16;
  KH = pc.cv_k & 0xffu, KW = (pc.cv_k >> 8) & 0xffu, SH = (pc.cv_k >> 16) & 0xffu,
  SW = pc.cv_k >> 24;
  PH = pc.cv_pad & 0xffffu, PW = pc.cv_pad >> 16;
}

// C[row, col] of batch (or split part) z: alpha * acc, the bias, the old C.
void store(uint z, uint coff, uint row, uint col, float acc) {
  bool split = (pc.flags & 8u) != 0u;
  float v = pc.alpha * acc;
  if (!split || z == 0u) { // split-K: the first part carries the bias
    if ((pc.flags & 1u) != 0u) v += bias[col];
    if ((pc.flags & 2u) != 0u) v += bias[row];
  }
  uint at = coff + row * pc.c_sm + col;
  if ((pc.flags & 4u) != 0u) v += c[at];
  c[at] = v;
}

#ifdef NAIVE
// One output element per invocation, no shared memory and no barriers: for
// outputs with few rows or columns, where tiles would mostly idle.
void main() {
  geometry();
  uint z = gl_WorkGroupID.z, idx = flat_group() * 256u + gl_LocalInvocationID.x;
  if (idx >= pc.m * pc.n) return;
  uint row = idx / pc.n, col = idx % pc.n;
  bool split = (pc.flags & 8u) != 0u;
  uint z1 = split ? 0u : z / pc.nb2, z2 = split ? 0u : z % pc.nb2;
  uint aoff = pc.a_off + z1 * pc.a_s1 + z2 * pc.a_s2;
  uint boff = pc.b_off + z1 * pc.b_s1 + z2 * pc.b_s2;
  uint coff = split ? pc.c_off + z * pc.c_s1 : pc.c_off + z1 * pc.c_s1 + z2 * pc.c_s2;
  uint k0 = split ? z * pc.kchunk : 0u, k1 = split ? min(pc.k, k0 + pc.kchunk) : pc.k;
  float acc = 0.0;
  for (uint kk = k0; kk < k1; kk++) acc = fma(load_a(aoff, row, kk), load_b(boff, kk, col), acc);
  store(z, coff, row, col, acc);
}
#else
void main() {
  geometry();
  uint z = gl_WorkGroupID.z, tid = gl_LocalInvocationID.x;
  uint tx = tid % NTX, ty = tid / NTX;
  uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  bool split = (pc.flags & 8u) != 0u;
  uint z1 = split ? 0u : z / pc.nb2, z2 = split ? 0u : z % pc.nb2;
  uint aoff = pc.a_off + z1 * pc.a_s1 + z2 * pc.a_s2;
  uint boff = pc.b_off + z1 * pc.b_s1 + z2 * pc.b_s2;
  uint coff = split ? pc.c_off + z * pc.c_s1 : pc.c_off + z1 * pc.c_s1 + z2 * pc.c_s2;
  uint k0 = split ? z * pc.kchunk : 0u, k1 = split ? min(pc.k, k0 + pc.kchunk) : pc.k;

  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; i++) [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

  for (uint kt = k0; kt < k1; kt += BK) {
    [[unroll]] for (uint l = 0; l < BM * BK / 256; l++) {
      uint e = tid + l * 256u, i = e / BK, kk = e % BK;
      As[kk][i] = (m0 + i < pc.m && kt + kk < k1) ? load_a(aoff, m0 + i, kt + kk) : 0.0;
    }
    [[unroll]] for (uint l = 0; l < BN * BK / 256; l++) {
      uint e = tid + l * 256u, j = e % BN, kk = e / BN;
      Bs[kk][j] = (n0 + j < pc.n && kt + kk < k1) ? load_b(boff, kt + kk, n0 + j) : 0.0;
    }
    barrier();
    [[unroll]] for (uint kk = 0; kk < BK; kk++) {
      float ra[TM], rb[TN];
      [[unroll]] for (uint i = 0; i < TM; i++) ra[i] = As[kk][ty + i * NTY];
      [[unroll]] for (uint j = 0; j < TN; j++) rb[j] = Bs[kk][tx + j * NTX];
      [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = fma(ra[i], rb[j], acc[i][j]);
    }
    barrier();
  }

  [[unroll]] for (uint i = 0; i < TM; i++) {
    uint row = m0 + ty + i * NTY;
    if (row >= pc.m) continue;
    [[unroll]] for (uint j = 0; j < TN; j++) {
      uint col = n0 + tx + j * NTX;
      if (col < pc.n) store(z, coff, row, col, acc[i][j]);
    }
  }
}
#endif
