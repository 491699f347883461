#!/usr/bin/env bash
# The README's main command: install what is missing, build, and summarize the bundled capture
# (a synthetic one when no sample is bundled) with the dense reference attention.
set -euo pipefail
cd "$(dirname "$0")/../.."
Tools/scripts/setup.sh
log=$(mktemp)
echo "building kvpack (release)..." >&2
if ! swift build -c release --product kvpack >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
exec .build/release/kvpack summarize "$@"
