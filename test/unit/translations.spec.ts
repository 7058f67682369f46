import {fmt} from '../../src/lib/format.js';
import {check, run} from '../lib/proc.js';

describe('fmt (printf-style substitution for translated strings)', () => {
    it('fills %s and %d in order and keeps %% as a percent sign', () => {
        expect(fmt('Receiving %d files from %s — %d %%', 3, 'Pixel 7', 45.9)).toBe('Receiving 3 files from Pixel 7 — 45 %');
        expect(fmt('Odbieranie %s z %s — %d%%', 'a.jpg', 'Pixel', 7)).toBe('Odbieranie a.jpg z Pixel — 7%');
    });

    it('leaves text alone and shows missing arguments as empty', () => {
        expect(fmt('100% sure')).toBe('100% sure');
        expect(fmt('%s and %s', 'one')).toBe('one and ');
        expect(fmt('%s', null)).toBe('');
    });
});

describe('translations', () => {
    it('po/ferry.pot has every string of the sources and po/pl.po translates all of them', async () => {
        const r = await run(['bash', 'scripts/update-pot.sh', '--check']);
        expect(r.status).withContext(r.stderr).toBe(0);
        expect(r.stdout).toMatch(/po\/pl\.po: \d+ translated messages\.\n/);
    });

    it('the packed extension carries the compiled Polish catalogue, and it translates', async () => {
        const out = (await check(['mktemp', '-d'])).trim();
        try {
            const zip = (await check(['python3', 'scripts/pack.py', out])).trim();
            const names = await check(['python3', '-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip]);
            expect(names.split('\n')).toEqual(jasmine.arrayContaining(['extension.js', 'prefs.js', 'chooser.js', 'metadata.json',
                'schemas/org.gnome.shell.extensions.ferry.gschema.xml', 'icons/ferry-symbolic.svg', 'locale/pl/LC_MESSAGES/ferry.mo']));
            expect(names).not.toContain('gschemas.compiled');
            await check(['python3', '-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, `${out}/x`]);
            const polish = await check(['sh', '-c', `LC_ALL=C.UTF-8 TEXTDOMAINDIR='${out}/x/locale' LANGUAGE=pl gettext -d ferry 'Send files…'`]);
            expect(polish).toBe('Wyślij pliki…');
        } finally {
            await run(['rm', '-rf', out]);
        }
    });
});
