#!/usr/bin/env python3
"""Lays out the extension as `gnome-extensions pack` does and zips it: extension.js, prefs.js,
chooser.js, metadata.json, icons/, schemas/*.gschema.xml (compiled at install time), and
locale/<lang>/LC_MESSAGES/ferry.mo from po/*.po. Usage: pack.py [OUT_DIR] (default build/)."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, 'build', 'extension')


def compile_translations(dest: str) -> None:
    po_dir = os.path.join(ROOT, 'po')
    for name in sorted(os.listdir(po_dir)):
        if not name.endswith('.po'):
            continue
        lang = name[:-3]
        out = os.path.join(dest, 'locale', lang, 'LC_MESSAGES')
        os.makedirs(out, exist_ok=True)
        subprocess.run(['msgfmt', '--check', '-o', os.path.join(out, 'ferry.mo'), os.path.join(po_dir, name)], check=True)


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'build')
    with open(os.path.join(ROOT, 'metadata.json')) as f:
        uuid = json.load(f)['uuid']
    compile_translations(SRC)
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, f'{uuid}.shell-extension.zip')
    with zipfile.ZipFile(target, 'w', zipfile.ZIP_DEFLATED) as z:
        for base, _dirs, files in os.walk(SRC):
            for f in sorted(files):
                if f == 'gschemas.compiled':
                    continue
                path = os.path.join(base, f)
                z.write(path, os.path.relpath(path, SRC))
    print(target)


if __name__ == '__main__':
    if not shutil.which('msgfmt'):
        sys.exit('pack.py: msgfmt is missing (apt-get install gettext)')
    main()
