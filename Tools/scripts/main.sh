#!/usr/bin/env bash
# The README's main command: install what is missing, build, and evaluate the bundled real
# captures with the default policies and budgets, printing the table. Arguments go to
# `kvpack eval` (e.g. `--out report/` for Markdown, JSON, CSV and plots).
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
samples=(Datasets/samples/smollm2-135m-gpl3-2k.h5 Datasets/samples/gemma3-270m-gpl3-2k.h5)
exec .build/release/kvpack eval "${samples[@]}" "$@"
