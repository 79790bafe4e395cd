#!/usr/bin/env bash
# Installs the Debian 12 packages the engine needs (DESIGN.md §4), only those that are missing.
# Open MPI (libopenmpi-dev, openmpi-bin) serves data-parallel CPU training and its tests; clang with
# libclang-rt-14-dev (libFuzzer and the sanitizers, only recommended by clang-14) builds the fuzz targets
# that the test suite runs (tests/fuzz). Uses sudo when not run as root. The CUDA toolkit (/usr/local/cuda) is optional and not installed here.
set -euo pipefail
pkgs="build-essential cmake libeigen3-dev libopenmpi-dev openmpi-bin libstb-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libgtest-dev dataset-fashion-mnist clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
