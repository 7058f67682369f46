#!/bin/bash
# Extracts the translatable strings into po/ferry.pot and merges them into every po/*.po.
# xgettext has no TypeScript parser and its JavaScript lexer (0.21) misreads template literals:
# each source file is first turned into plain JavaScript with template literals lowered.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
files=(src/shell/*.ts src/prefs/*.ts)
npx esbuild "${files[@]}" --outdir="$tmp" --outbase=src --format=esm --target=es2020 \
    --supported:template-literal=false --log-level=warning
xgettext --from-code=UTF-8 --language=JavaScript --keyword=_ --keyword=gettext --keyword=ngettext:1,2 \
    --add-comments=Translators --package-name=ferry --msgid-bugs-address=https://github.com/ferry-kdeconnect/ferry/issues \
    --no-location -o po/ferry.pot "$tmp"/*/*.js
xgettext --join-existing --no-location --from-code=UTF-8 -o po/ferry.pot schemas/*.gschema.xml 2>/dev/null
for po in po/*.po; do
    [ -e "$po" ] && msgmerge --quiet --update --backup=none --no-location "$po" po/ferry.pot
done
printf '%s\n' "${files[@]}" schemas/*.gschema.xml > po/POTFILES
