#!/bin/bash
# Builds (once) a Debian root file system the tests run peers and desktops in:
#   trixie (Debian 13): kdeconnectd 25.04, GSConnect 62, GNOME Shell 48, gjs 1.82
#   forky  (testing):   kdeconnectd 26.08, GSConnect 74, GNOME Shell 50, gjs 1.90
#   sid    (unstable):  kdeconnectd 26.08, GSConnect 74, GNOME Shell 51, gjs 1.90
# each with Nautilus and nautilus-python. Cached outside the repository, keyed by the suite and
# the package list, so a changed list builds a new one. Prints the root's path.
#   scripts/rig-root.sh SUITE        build if missing, print the path
set -euo pipefail
SUITE=${1:?usage: rig-root.sh trixie|forky|sid}
case "$SUITE" in trixie|forky|sid) ;; *) echo "unknown suite $SUITE" >&2; exit 2 ;; esac
PKGS=(kdeconnect dbus dbus-daemon dbus-bin openssl gjs glib-networking libglib2.0-bin
      gnome-shell-extension-gsconnect xvfb
      gnome-shell gnome-shell-common mutter-common dbus-user-session dconf-service dconf-gsettings-backend
      dconf-cli gsettings-desktop-schemas libgl1-mesa-dri libegl-mesa0 libgles2 xwayland fonts-cantarell
      adwaita-icon-theme gir1.2-gtk-4.0 gir1.2-adw-1 nautilus python3-nautilus procps)
CACHE=${FERRY_RIG_DIR:-/var/cache/ferry-rig}
KEY=$(printf '%s\n' "$SUITE" "${PKGS[@]}" | sha256sum | cut -c1-12)
ROOT=$CACHE/$SUITE-$KEY
if [ -f "$ROOT/.complete" ]; then echo "$ROOT"; exit 0; fi
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
rm -rf "$ROOT"; mkdir -p "$CACHE"
echo "building $ROOT (debootstrap $SUITE, then ${PKGS[*]})" >&2
# Debian 12's debootstrap has no forky script; sid's describes it (and sid) exactly
script=/usr/share/debootstrap/scripts/$SUITE
[ -f "$script" ] || script=/usr/share/debootstrap/scripts/sid
debootstrap --variant=minbase "$SUITE" "$ROOT" http://deb.debian.org/debian "$script" >"$ROOT.log" 2>&1 \
    || { tail -20 "$ROOT.log" >&2; exit 1; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
# testing's and unstable's Release files can be past their Valid-Until date in the archive copy
APT="apt-get -o Acquire::Check-Valid-Until=false"
# mounts live only in this unshared mount namespace
unshare -m sh -c "mount --make-rprivate / && mount -t proc proc '$ROOT/proc' && mount --rbind /dev '$ROOT/dev' && \
    chroot '$ROOT' env DEBIAN_FRONTEND=noninteractive LC_ALL=C $APT update -q && \
    chroot '$ROOT' env DEBIAN_FRONTEND=noninteractive LC_ALL=C $APT install -y -q --no-install-recommends ${PKGS[*]}" \
    >>"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; exit 1; }
chroot "$ROOT" apt-get clean
# the desktop's user (GNOME Shell refuses to run as root)
chroot "$ROOT" useradd -m -u 1000 -s /bin/sh tester 2>/dev/null || true
# older roots of this suite are superseded by this one
for old in "$CACHE/$SUITE"-*; do
    [ -d "$old" ] && [ "$old" != "$ROOT" ] && ! mount | grep -q " $old" && rm -rf "$old" "$old.log"
done
touch "$ROOT/.complete"
echo "$ROOT"
