#!/usr/bin/env bash
# Installs the Debian 12 packages goka-cli needs to build, test and benchmark,
# only those that are missing. Needs root (or sudo) when something is missing.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
  librdkafka-dev libjemalloc-dev libleveldb-dev libsnappy-dev libcli11-dev nlohmann-json3-dev
  libfmt-dev catch2 libcpp-httplib-dev kcat python3-plyvel curl
  libprotobuf-dev libprotoc-dev protobuf-compiler
  chromium)  # chromium: tests/cli/monitor_page.sh, the --serve page in a headless browser
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
