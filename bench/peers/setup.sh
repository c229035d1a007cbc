#!/usr/bin/env bash
# Creates bench/peers/.venv with the peer synthesizers (SDV GaussianCopula and CTGAN) for bench/peers.ts.
# PyTorch first, pinned to the CPU build that this machine's pip finds on local disk (a plain `torch`
# would pull a CUDA build of several GB); then the pinned requirements, which torch==2.13.0 satisfies.
# The system pip configuration (/etc/xdg/pip) stays in effect.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3.11}"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
pip=("$here/.venv/bin/python" -m pip)
"${pip[@]}" install torch==2.13.0
"${pip[@]}" install -r "$here/requirements.txt"
"$here/.venv/bin/python" -c "import sdv, torch; print('sdv', sdv.__version__, 'torch', torch.__version__)"
