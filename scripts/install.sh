#!/bin/bash
# Installs Ferry for the current user: the GNOME Shell extension (enabled), the `ferry` command in
# ~/.local/bin (code in ~/.local/share/ferry) with bash completion, and the Nautilus "Send to"
# extension. Needs sudo once to install missing Debian packages. `install.sh --uninstall` removes
# all of it (not ~/.config/ferry).
set -euo pipefail
cd "$(dirname "$0")/.."
UUID=$(python3 -c 'import json; print(json.load(open("metadata.json"))["uuid"])')
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
EXT_DIR=$DATA/gnome-shell/extensions/$UUID
NAUTILUS_EXT=$DATA/nautilus-python/extensions/ferry-nautilus.py
COMPLETION=$DATA/bash-completion/completions/ferry
shell_running() {
    gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.NameHasOwner org.gnome.Shell 2>/dev/null | grep -q true
}

if [ "${1:-}" = --uninstall ]; then
    command -v gnome-extensions >/dev/null && gnome-extensions disable "$UUID" 2>/dev/null || true
    rm -rf "$EXT_DIR" "$DATA/ferry" "$HOME/.local/bin/ferry" "$NAUTILUS_EXT" "$COMPLETION"
    echo "Ferry removed (your identity and pairings stay in ~/.config/ferry)."
    exit 0
fi

bash scripts/deps.sh runtime
[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/build.mjs
python3 scripts/pack.py >/dev/null   # also compiles the translations into build/extension/locale

# the command line
mkdir -p "$DATA/ferry" "$HOME/.local/bin"
rm -rf "$DATA/ferry/build"
mkdir -p "$DATA/ferry/build"
cp -r build/cli "$DATA/ferry/build/cli"
cat > "$HOME/.local/bin/ferry" <<WRAP
#!/bin/sh
exec gjs -m "$DATA/ferry/build/cli/main.js" "\$@"
WRAP
chmod 755 "$HOME/.local/bin/ferry"

mkdir -p "$(dirname "$COMPLETION")" "$(dirname "$NAUTILUS_EXT")"
cp completions/ferry.bash "$COMPLETION"
cp nautilus/ferry-nautilus.py "$NAUTILUS_EXT"

# the extension, laid out as `gnome-extensions install` would, schemas compiled here
rm -rf "$EXT_DIR"
mkdir -p "$EXT_DIR"
cp -r build/extension/. "$EXT_DIR/"
glib-compile-schemas "$EXT_DIR/schemas"
enabled=no
if command -v gnome-extensions >/dev/null && shell_running && gnome-extensions enable "$UUID" 2>/dev/null; then
    enabled=yes
elif gsettings list-keys org.gnome.shell >/dev/null 2>&1; then
    current=$(gsettings get org.gnome.shell enabled-extensions)
    case "$current" in
        *"'$UUID'"*) ;;
        "@as []") gsettings set org.gnome.shell enabled-extensions "['$UUID']" ;;
        *) gsettings set org.gnome.shell enabled-extensions "${current%]}, '$UUID']" ;;
    esac
    enabled=yes
fi

echo "Installed the ferry command ($HOME/.local/bin/ferry, with bash completion) and the GNOME Shell extension ($EXT_DIR)."
if dpkg-query -W -f='${Status}' python3-nautilus 2>/dev/null | grep -q 'install ok installed'; then
    echo "Nautilus offers \"Send to <device>\" for your files after it restarts (nautilus -q)."
else
    echo "For \"Send to <device>\" in Nautilus, install python3-nautilus (sudo apt install python3-nautilus), then run nautilus -q."
fi
if [ "$enabled" = yes ]; then
    if shell_running && [ "${XDG_SESSION_TYPE:-}" = x11 ]; then
        echo "The extension is enabled and runs now: look for Ferry in the top bar."
    else
        echo "The extension is enabled. GNOME Shell on Wayland loads new extensions at the next login:"
        echo "log out and in, then look for Ferry in the top bar. Until then, 'ferry serve' runs Ferry in a terminal."
    fi
else
    echo "No GNOME Shell here: run Ferry with 'ferry serve'."
fi
