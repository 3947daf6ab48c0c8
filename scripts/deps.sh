#!/usr/bin/env bash
# Installs the Debian 12 packages Custodian needs to build, test and run — only those missing.
# `apt-get update` runs at most once, and only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev            # Ed25519, SHA-256, randomness, base64
  nlohmann-json3-dev       # JSON
  libcli11-dev             # command line
  libspdlog-dev libfmt-dev # logging and formatting
  libgeographiclib-dev     # WGS84 geodesics
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  [[ $p == \#* ]] && continue
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: not root; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
