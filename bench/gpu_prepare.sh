#!/usr/bin/env bash
# Fills .gpu-carry/ for the GPU session (bench/gpu_session.sh) and checks that it can travel:
#  1. runs the workplace's pack-carry.sh (header-only dependencies, zlib, GoogleTest sources,
#     Fashion-MNIST, the peers' wheels), which downloads wheels for this machine's Python;
#  2. replaces each compiled wheel among them (kornia_rs) by its build for the GPU machine's Python,
#     3.12 by the device tool's KINDS.md (GPU_PYTHON overrides), since a cp311 wheel does not install
#     there and its peer (Kornia) would be skipped;
#  3. adds up what a device call carries (the files git tracks or does not ignore, and .gpu-carry)
#     against the 64 MiB the device tool allows, and fails above it.
# Usage: bench/gpu_prepare.sh   (in the checkout; PACK_CARRY: the pack script, default ../shared/gpu/pack-carry.sh)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
pack=${PACK_CARRY:-../shared/gpu/pack-carry.sh}
python=${GPU_PYTHON:-3.12}
[[ -x $pack ]] || { echo "gpu_prepare: $pack not found or not executable (set PACK_CARRY)" >&2; exit 1; }
"$pack"

wheels=.gpu-carry/wheels
for w in "$wheels"/*.whl; do
  [[ -e $w && $w != *-none-any.whl ]] || continue
  IFS=- read -r name version _ <<<"${w##*/}"  # NAME-VERSION-PYTAG-...: the same version, for that Python
  tmp=$(mktemp -d)
  if pip download -q --no-deps --only-binary=:all: --python-version "$python" \
       --platform manylinux_2_17_x86_64 -d "$tmp" "$name==$version" >/dev/null 2>&1 && ls "$tmp"/*.whl >/dev/null 2>&1; then
    rm -f "$w"
    mv "$tmp"/*.whl "$wheels/"
    echo "gpu_prepare: $name for Python $python: $(cd "$wheels" && ls "$name"-*.whl)"
  else
    echo "gpu_prepare: no $name wheel for Python $python; kept ${w##*/} (its peer may be skipped there)"
  fi
  rm -rf "$tmp"
done

limit=$((64 * 1024 * 1024))
# (a tracked file deleted in the working tree does not travel: stat's complaint about it is dropped)
tree=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null || true) |
       awk '{s += $1} END {print s + 0}')
carry=$(find .gpu-carry -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
total=$((tree + carry))
awk -v t="$tree" -v c="$carry" 'BEGIN {
  printf "gpu_prepare: the device call carries %.1f MiB (tree %.1f, .gpu-carry %.1f) of 64 MiB\n", (t + c) / 1048576, t / 1048576, c / 1048576
}'
if ((total > limit)); then
  echo "gpu_prepare: over the device tool's 64 MiB: drop wheels from $wheels or data from .gpu-carry/data" >&2
  exit 1
fi
