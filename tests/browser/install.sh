#!/usr/bin/env bash
# Debian's Chromium, ChromeDriver and a CJK font for the enterprise-page browser test
# (no browser downloads).
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
    && fc-list :lang=zh 2>/dev/null | grep -q .; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-microhei >/dev/null
chromium --version
