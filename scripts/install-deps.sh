#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages nnbench builds and runs with,
# and only those not installed yet. Idempotent and non-interactive; runs as
# root, or through sudo when that exists.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git      # compiler and build
  libopenblas-dev                           # openblas backend
  libdnnl-dev                               # onednn backend
  libvulkan-dev mesa-vulkan-drivers glslc   # vulkan backend (lavapipe runs it on the CPU)
  libvulkan-volk-dev spirv-tools            # volk (compiled in), spirv-val for the shaders
  vulkan-validationlayers                   # the vulkan tests' validation layer
  vulkan-tools                              # vulkaninfo, for diagnosing a missing device
  libcriterion-dev                          # tests
  clang libclang-rt-14-dev                  # fuzzing (libFuzzer, fuzz/README.md)
  gnuplot-nox                               # plots
  python3-torch                             # the pytorch peer (CPU), and the fixture scripts
  dataset-fashion-mnist                     # the default dataset
  zlib1g-dev libinih-dev libcjson-dev       # gzip, suite files, JSON
  openmpi-bin libopenmpi-dev                # bench --ranks: data-parallel training over MPI
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
