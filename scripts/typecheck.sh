#!/bin/bash
# Type-checks everything against the GNOME 45-era types of package.json, then the extension's
# code (src/shell, src/prefs, src/chooser and what they import) against GNOME Shell 46, 47 and
# 48's own types (types/shell-N, each with its own npm packages): API drift is a compile error.
# GNOME 49 and 50's types (@girs/gnome-shell 49.1.0, 50.0.4) name packages the npm registry does
# not have, so they cannot be installed; 48, 50 and 51 run in real shells in the shell suite.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
for dir in types/shell-*/; do
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund >/dev/null)
    fi
    npx tsc --noEmit -p "$dir"
done
