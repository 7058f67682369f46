#!/bin/bash
# Installs the Debian packages Ferry needs: `runtime` to run it, `test` to run its test suite,
# `bench` for `npm run bench` (the test packages and tcpdump, for bench/wire.py).
# Installs only what is missing; needs root (or sudo) when something is missing.
set -euo pipefail
RUNTIME=(gjs gir1.2-glib-2.0 glib-networking openssl libglib2.0-bin gettext)
TEST=(dbus dbus-bin dbus-daemon dconf-cli dconf-gsettings-backend dconf-service iproute2 python3 procps
      kdeconnect gnome-shell-extension-gsconnect xvfb python3-nautilus gir1.2-nautilus-4.0 debootstrap nftables)
case "${1:-runtime}" in
    runtime) want=("${RUNTIME[@]}") ;;
    test) want=("${RUNTIME[@]}" "${TEST[@]}") ;;
    bench) want=("${RUNTIME[@]}" "${TEST[@]}" tcpdump) ;;
    *) echo "usage: $0 runtime|test|bench" >&2; exit 2 ;;
esac
command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
