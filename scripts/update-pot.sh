#!/bin/bash
# Extracts the translatable strings into po/ferry.pot and merges them into every po/*.po.
#   update-pot.sh           update po/ferry.pot and po/*.po
#   update-pot.sh --check   fail if po/ferry.pot is stale or a po/*.po is incomplete (tests run this)
# xgettext has no TypeScript parser and its JavaScript lexer (0.21) misreads template literals:
# each source file is first turned into plain JavaScript with template literals lowered.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
files=(src/shell/*.ts src/prefs/*.ts)
pot=po/ferry.pot
[ "${1:-}" = --check ] && pot=$tmp/ferry.pot
npx esbuild "${files[@]}" --outdir="$tmp/js" --outbase=src --format=esm --target=es2020 \
    --supported:template-literal=false --log-level=warning
xgettext --from-code=UTF-8 --language=JavaScript --keyword=_ --keyword=gettext --keyword=ngettext:1,2 \
    --add-comments=Translators --package-name=ferry --msgid-bugs-address=https://github.com/ferry-kdeconnect/ferry/issues \
    --no-location -o "$pot" "$tmp"/js/*/*.js
xgettext --join-existing --no-location --from-code=UTF-8 --language=Python -o "$pot" nautilus/*.py
xgettext --join-existing --no-location --from-code=UTF-8 -o "$pot" schemas/*.gschema.xml 2>/dev/null
if [ "${1:-}" = --check ]; then
    ids() { msgcat --no-location --sort-output "$1" | grep -E '^msgid|^msgid_plural' ; }
    diff <(ids po/ferry.pot) <(ids "$pot") >&2 || { echo "po/ferry.pot is stale: run npm run pot" >&2; exit 1; }
    for po in po/*.po; do
        stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$po" 2>&1)
        msgcmp "$po" "$pot" || { echo "$po lacks messages of the sources" >&2; exit 1; }
        case "$stats" in
            *untranslated*|*fuzzy*) echo "$po: $stats" >&2; exit 1 ;;
        esac
        echo "$po: $stats"
    done
    exit 0
fi
for po in po/*.po; do
    [ -e "$po" ] && msgmerge --quiet --update --backup=none --no-location "$po" "$pot"
done
printf '%s\n' "${files[@]}" nautilus/*.py schemas/*.gschema.xml > po/POTFILES
