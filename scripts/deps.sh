#!/usr/bin/env bash
# Installs what Custodian needs to build, test and run — only what is missing:
#  1. Debian 12 packages (`apt-get update` runs at most once, and only when something is missing);
#  2. the npm package world-atlas (Natural Earth 1:10m borders, countries-10m.json), pinned with
#     its integrity hash in third_party/world-atlas/package-lock.json and installed by `npm ci`.
#     The program reads that file at run time and never fetches anything itself.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev            # Ed25519, SHA-256, randomness, base64
  nlohmann-json3-dev       # JSON
  libcli11-dev             # command line
  libspdlog-dev libfmt-dev # logging and formatting
  libgeographiclib-dev     # WGS84 geodesics
  libsqlite3-dev sqlite3   # embedded database (the default store)
  libpq-dev postgresql     # PostgreSQL 15 client library, and the server `make test` starts
  libcpp-httplib-dev libssl-dev  # HTTP(S) server and client
  libicu-dev libyaml-cpp-dev     # screening: ICU normalisation/transliteration, legal-form YAML
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-cryptography   # the independent transparency-log check (tests/interop)
)

# node and npm: Debian ships npm as a separate package, but a nodesource nodejs bundles it (and
# conflicts with Debian's npm), so ask for `nodejs npm` only when a command is missing.
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  [[ $p == \#* ]] && continue
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
else
  echo "deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: not root; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Borders. `npm ci` installs exactly the lockfile's version and refuses a tarball whose sha512
# differs from the recorded integrity, so a tampered or substituted map cannot slip in.
atlas_dir=third_party/world-atlas
atlas_file=$atlas_dir/node_modules/world-atlas/countries-10m.json
if [[ -f $atlas_file ]]; then
  echo "deps: $atlas_file present"
else
  echo "deps: installing world-atlas (npm ci in $atlas_dir)"
  (cd "$atlas_dir" && npm ci --no-audit --no-fund)
  [[ -f $atlas_file ]] || { echo "deps: npm ci did not produce $atlas_file" >&2; exit 1; }
fi
