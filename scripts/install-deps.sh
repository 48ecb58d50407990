#!/usr/bin/env bash
# Installs what Vigil needs to build, test and run its demo on Debian 12.
# Idempotent: asks apt only for the packages that are missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libevent-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev sqlite3
  libcmocka-dev librdkafka-dev kafkacat
  libvirt-dev libvirt-daemon libvirt-clients
  libdpdk-dev python3-scapy tshark nftables
  python3 curl procps iproute2 libssl-dev
  python3-blazarclient
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# No recommends: libvirt would pull in QEMU, which Vigil's tests never start
# (they use libvirt's test driver).
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
