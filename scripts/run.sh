#!/usr/bin/env bash
# The run command: installs what OneGrid needs on a Debian machine (a CJK font with TrueType
# outlines for the PDF exports; the Python packages in requirements.txt), then runs
# `python app.py` with any arguments given (no arguments: the demo city on the embedded
# defaults, http://127.0.0.1:8050).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
  echo "== installing Debian package fonts-wqy-microhei (Chinese text in PDF exports)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi
"$PYTHON" -m pip install -q --disable-pip-version-check -r requirements.txt
exec "$PYTHON" app.py "$@"
