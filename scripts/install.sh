#!/bin/bash
# Installs Ferry for the current user: the `ferry` command in ~/.local/bin, its code in
# ~/.local/share/ferry. Needs sudo once to install missing Debian packages (gjs, glib-networking, openssl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh runtime
[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/build.mjs
dest="${XDG_DATA_HOME:-$HOME/.local/share}/ferry"
mkdir -p "$dest" "$HOME/.local/bin"
rm -rf "$dest/build"
cp -r build "$dest/build"
rm -rf "$dest/build/test"
cat > "$HOME/.local/bin/ferry" <<WRAP
#!/bin/sh
exec gjs -m "$dest/build/cli/main.js" "\$@"
WRAP
chmod 755 "$HOME/.local/bin/ferry"
echo "Installed: $HOME/.local/bin/ferry (code in $dest)"
