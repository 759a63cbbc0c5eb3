#!/usr/bin/env bash
# wrk, the HTTP load generator of the service benchmark, from Debian's packages: a C client
# with a Lua hook per request, light enough to leave the cores to the server it measures.
set -euo pipefail
if command -v wrk >/dev/null; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
