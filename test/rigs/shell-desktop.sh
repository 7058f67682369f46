#!/bin/bash
# A headless GNOME Shell session in the Debian 13 root (adapted from ../shared/rigs/shell48).
# Run as root inside `ip netns exec NS` (which gives this process a mount namespace of its own:
# every mount below ends with it). HOME_DIR (host path, owned by uid 1000) becomes /home/tester,
# extensions must already be in HOME_DIR/.local/share/gnome-shell/extensions; UUID... are enabled.
# The session bus listens on HOME_DIR/.bus. Prints "SHELL <pid>" once gnome-shell runs; stops it
# and everything else it started on SIGTERM.
#   shell-desktop.sh ROOT HOME_DIR UUID...
set -uo pipefail
ROOT=$1 HOME_DIR=$2; shift 2
UUIDS=("$@")
TUID=1000 THOME=/home/tester TRUN=/run/user/1000
BUS=unix:path=$THOME/.bus
MYNS=$(readlink /proc/self/ns/mnt)

die() { echo "shell-desktop: $*" >&2; exit 1; }
U() {
    chroot --userspec=$TUID:$TUID "$ROOT" env -i HOME=$THOME USER=tester LOGNAME=tester \
        PATH=/usr/bin:/bin XDG_RUNTIME_DIR=$TRUN LANG=C.UTF-8 XDG_SESSION_TYPE=wayland \
        XDG_CURRENT_DESKTOP=GNOME DBUS_SESSION_BUS_ADDRESS=$BUS NO_AT_BRIDGE=1 "$@"
}
ours() { # processes running in the root file system within this mount namespace
    local p
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = $$ ] && continue
        [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$MYNS" ] \
            && echo "${p#/proc/}"
    done
}
stop() {
    trap - TERM INT EXIT
    [ -n "${SHELL_PID:-}" ] && kill -TERM "$SHELL_PID" 2>/dev/null
    for _ in $(seq 1 30); do [ -n "${SHELL_PID:-}" ] && kill -0 "$SHELL_PID" 2>/dev/null || break; sleep 0.1; done
    local pids; pids=$(ours)
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null && sleep 0.5
    pids=$(ours); [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    exit 0
}
trap stop TERM INT EXIT

mount --make-rprivate / || die "cannot make mounts private"
mount -t proc proc "$ROOT/proc" && mount --rbind /sys "$ROOT/sys" && mount --rbind /dev "$ROOT/dev" \
    && mount -t tmpfs -o mode=755 ferry-run "$ROOT/run" && mount -t tmpfs -o mode=1777 ferry-tmp "$ROOT/tmp" \
    && mkdir -p "$ROOT$THOME" && mount --bind "$HOME_DIR" "$ROOT$THOME" || die "mounts failed"
mkdir -p "$ROOT/run/dbus" "$ROOT$TRUN" "$ROOT/tmp/.X11-unix"
chmod 1777 "$ROOT/tmp/.X11-unix"; chown $TUID:$TUID "$ROOT$TRUN"; chmod 700 "$ROOT$TRUN"

chroot "$ROOT" dbus-daemon --system --fork --nopidfile || die "system bus"
U dbus-daemon --session --address=$BUS --fork --nopidfile || die "session bus"
list=$(printf "'%s'," "${UUIDS[@]}")
U gsettings set org.gnome.shell enabled-extensions "[${list%,}]" || die "gsettings"
U gsettings set org.gnome.shell disable-user-extensions false
U gsettings set org.gnome.shell welcome-dialog-last-shown-version '999'
U gsettings set org.gnome.desktop.interface enable-animations false
touch "$ROOT$THOME/.local/share/gnome-shell/lock-warning-shown"

U gnome-shell --headless --wayland --virtual-monitor 1280x800 </dev/null &
SHELL_PID=$!
echo "SHELL $SHELL_PID"
wait $SHELL_PID
echo "shell-desktop: gnome-shell exited ($?)" >&2
