#!/usr/bin/env bash
# The README's test command (and CI's): install what is missing, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
Tools/scripts/setup.sh --tests
exec swift test "$@"
