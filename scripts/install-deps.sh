#!/usr/bin/env bash
# Install Debian/Ubuntu packages on a fresh machine: as root (where there is no sudo) or as a user with sudo.
# Used by the README's two commands and .ci/run:
#   bash scripts/install-deps.sh PACKAGE...
# Packages already installed are left alone, and with all of them installed nothing is run (no network needed).
# Otherwise the package lists are fetched first (a fresh machine has none: `apt-get install` alone finds nothing),
# then the missing packages are installed, non-interactively.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/install-deps.sh PACKAGE..." >&2
  exit 2
fi

missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then missing+=("$pkg"); fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: already installed: $*"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: installing ${missing[*]} needs root, and this user is not root and there is no sudo." >&2
  echo "Run this as root (su -c 'bash scripts/install-deps.sh $*'), or install sudo." >&2
  exit 1
fi

# sudo resets the environment: pass DEBIAN_FRONTEND through env so no package stops to ask a question.
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
echo "install-deps: installing ${missing[*]}"
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
