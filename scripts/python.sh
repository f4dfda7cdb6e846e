# Sourced: sets FRACTAL_PYTHON to an interpreter that can import torch and numpy
# (FRACTAL_PYTHON if set, else python3, else Debian's /usr/bin/python3), or fails saying how to get one.
if [ -z "${FRACTAL_PYTHON:-}" ]; then
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch, numpy' 2>/dev/null; then
      FRACTAL_PYTHON="$(command -v "$candidate")"; break
    fi
  done
fi
if [ -z "${FRACTAL_PYTHON:-}" ]; then
  echo "No Python with torch and numpy found. Install them (Debian/Ubuntu: sudo apt-get install python3-torch python3-numpy python3-pytest) or set FRACTAL_PYTHON." >&2
  exit 1
fi
export FRACTAL_PYTHON
