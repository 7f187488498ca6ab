#!/usr/bin/env bash
# Installs the test-only tools the test suite drives: Debian's Chromium, which renders the local
# runner's HTML report headless. Idempotent; needs root (or sudo) and Debian's package repositories.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium already installed: $(chromium --version)"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
echo "installed $(chromium --version)"
