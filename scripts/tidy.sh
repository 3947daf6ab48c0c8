#!/usr/bin/env bash
# clang-tidy over src/ with the release build's compile commands, minus GCC's precompiled
# headers (clang cannot read a GCC .gch; the headers themselves are still seen through the
# sources' own #includes). Usage: scripts/tidy.sh [FILE…] (default: every tracked src/*.cc).
set -euo pipefail
cd "$(dirname "$0")/.."
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
python3 - "$db" <<'PY'
import json, re, sys
commands = json.load(open("build/compile_commands.json"))
for c in commands:
    c["command"] = re.sub(r" -include \S+cmake_pch\.hxx| -Winvalid-pch", "", c["command"])
json.dump(commands, open(sys.argv[1] + "/compile_commands.json", "w"))
PY
if [ $# -eq 0 ]; then set -- $(git ls-files 'src/*.cc'); fi
printf '%s\n' "$@" | xargs -P "$(nproc)" -n 1 clang-tidy -p "$db" --quiet
