#!/usr/bin/env bash
# The vulkan backend on a machine with a GPU, in one command, from a build
# made elsewhere (carry build/release): conformance, the FP32 FMA peak, a
# 4096^3 GEMM (and the large presets' GEMM shapes) against it, and the
# large presets trained at batch 256. Writes everything under OUT (default
# results/gpu-check-<UTC time>); backends/vulkan/README.md records it.
#
#   backends/vulkan/gpu-check.sh [BUILD_DIR] [OUT]
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
out=${2:-results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
nnbench="$build/nnbench"
status=0
step() {
  echo "== $1" | tee -a "$out/log.txt"
  shift
  "$@" 2>&1 | tee -a "$out/log.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
}
step "sysinfo and devices" "$nnbench" list backends
command -v nvidia-smi >/dev/null && step "nvidia-smi" nvidia-smi -L
step "conformance" "$nnbench" check --backend vulkan
# 4096^3, then the large presets' training GEMMs at batch 256 (mlp:large's
# first layer and its weight gradient)
step "fma peak and gemm" "$build/nnb-vk-gpucheck" 4096 4096 4096 256 2816 784 2816 784 256
step "large presets, batch 256" "$nnbench" bench \
  --model 'mlp:large;cnn:large;lstm:large;transformer:large' --backend vulkan \
  --mode train,infer --batch 256 --min-time 2 --warmup 3 --out "$out/bench"
echo "gpu-check: $([ $status -eq 0 ] && echo ok || echo FAILED); results in $out" | tee -a "$out/log.txt"
exit $status
