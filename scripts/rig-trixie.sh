#!/bin/bash
# Builds (once) the Debian 13 root file system the tests run newer peers and the desktop in:
# kdeconnectd 25.04 (protocol 8), GSConnect 62, GNOME Shell 48 (headless) and Nautilus 48 with
# nautilus-python. Cached outside the repository, keyed by the
# package list, so a changed list builds a new one. Prints the root's path.
#   scripts/rig-trixie.sh            build if missing, print the path
set -euo pipefail
PKGS=(kdeconnect dbus dbus-daemon dbus-bin openssl gjs glib-networking libglib2.0-bin
      gnome-shell-extension-gsconnect xvfb
      gnome-shell gnome-shell-common mutter-common dbus-user-session dconf-service dconf-gsettings-backend
      dconf-cli gsettings-desktop-schemas libgl1-mesa-dri libegl-mesa0 libgles2 xwayland fonts-cantarell
      adwaita-icon-theme gir1.2-gtk-4.0 gir1.2-adw-1 nautilus python3-nautilus procps)
CACHE=${FERRY_RIG_DIR:-/var/cache/ferry-rig}
KEY=$(printf '%s\n' "${PKGS[@]}" | sha256sum | cut -c1-12)
ROOT=$CACHE/trixie-$KEY
if [ -f "$ROOT/.complete" ]; then echo "$ROOT"; exit 0; fi
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
rm -rf "$ROOT"; mkdir -p "$CACHE"
echo "building $ROOT (debootstrap trixie, then ${PKGS[*]})" >&2
debootstrap --variant=minbase trixie "$ROOT" http://deb.debian.org/debian >"$ROOT.log" 2>&1 \
    || { tail -20 "$ROOT.log" >&2; exit 1; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
# mounts live only in this unshared mount namespace
unshare -m sh -c "mount --make-rprivate / && mount -t proc proc '$ROOT/proc' && mount --rbind /dev '$ROOT/dev' && \
    chroot '$ROOT' env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get update -q && \
    chroot '$ROOT' env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -q --no-install-recommends ${PKGS[*]}" \
    >>"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; exit 1; }
chroot "$ROOT" apt-get clean
# the desktop's user (GNOME Shell refuses to run as root)
chroot "$ROOT" useradd -m -u 1000 -s /bin/sh tester 2>/dev/null || true
# older roots of this rig are superseded by this one
for old in "$CACHE"/trixie-*; do
    [ -d "$old" ] && [ "$old" != "$ROOT" ] && ! mount | grep -q " $old" && rm -rf "$old" "$old.log"
done
touch "$ROOT/.complete"
echo "$ROOT"
