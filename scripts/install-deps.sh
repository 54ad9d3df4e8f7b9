#!/usr/bin/env bash
# Installs what sixbit builds and tests with, from Debian/Ubuntu packages and PyPI. Safe to run twice:
# it installs only what is missing. Usage: scripts/install-deps.sh [--no-python]
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(cmake g++ make pkg-config libxtensor-dev xtl-dev nlohmann-json3-dev googletest libgtest-dev
      libbenchmark-dev libopenblas-dev libomp-dev python3 python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test oracles from PyPI live in their own virtual environment (.venv, ignored by git), never in the system.
if [ "${1:-}" != "--no-python" ]; then
  scripts/install-oracles.sh
fi
