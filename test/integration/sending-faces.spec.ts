// Ways to send besides the shell: the Nautilus extension (nautilus/ferry-nautilus.py) loaded under
// python3 with the real Nautilus 4.0 API (Debian's python3-nautilus), and `ferry send` with bash
// completion, against a running `ferry serve` with paired peers in another network namespace.
import GLib from 'gi://GLib';
import {pairBoth, requirePrerequisite, waitDevice} from '../lib/ferry.js';
import {FerryNode, HostPair} from '../lib/netns.js';
import {ROOT, check, isRoot, run, sha256} from '../lib/proc.js';

const PYTHON = '/usr/bin/python3';

interface Item {
    label: string;
    items: string[];
}

interface Driven {
    ready: boolean;
    selections: Record<'files' | 'all' | 'folders' | 'remote' | 'nothing', Item[]>;
    sent: string[];
}

function haveNautilusPython(): boolean {
    return GLib.file_test('/usr/lib/x86_64-linux-gnu/nautilus/extensions-4/libnautilus-python.so', GLib.FileTest.EXISTS) ||
        GLib.file_test('/usr/lib/nautilus/extensions-4/libnautilus-python.so', GLib.FileTest.EXISTS);
}

describe('sending from Nautilus and the command line', () => {
    let hosts: HostPair;
    let desk: FerryNode, phone: FerryNode, tablet: FerryNode;
    let files: string[] = [];
    const ready = () => requirePrerequisite(!isRoot() ? 'root (network namespaces)'
        : haveNautilusPython() ? null : 'python3-nautilus (apt-get install python3-nautilus)');
    /** What bash completion offers for the words typed so far (the last one being completed). */
    const complete = async (...words: string[]): Promise<string[]> => {
        const script = `source '${ROOT}/completions/ferry.bash'; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ferry; ` +
            'printf "%s\\n" "${COMPREPLY[@]}"';
        const r = await run(['ip', 'netns', 'exec', desk.ns, 'bash', '-c', script, 'bash', 'ferry', ...words],
            {...desk.env, PATH: `${ROOT}/bin:/usr/bin:/bin`});
        expect(r.status).withContext(r.stderr).toBe(0);
        return r.stdout.split('\n').filter(Boolean);
    };

    const drive = async (activate: string, args: string[]): Promise<Driven> => {
        const r = await run([PYTHON, `${ROOT}/test/nautilus/drive.py`, `${ROOT}/nautilus/ferry-nautilus.py`, activate, ...args],
            {...desk.env, LANG: 'C.UTF-8'});
        if (r.status !== 0)
            throw new Error(`drive.py exited ${r.status}: ${r.stderr}`);
        return JSON.parse(r.stdout) as Driven;
    };

    beforeAll(async () => {
        if (!isRoot() || !haveNautilusPython())
            return;
        hosts = await HostPair.create();
        desk = new FerryNode(hosts.nsA, 'Desk');
        phone = new FerryNode(hosts.nsB, 'Pixel 7');
        await desk.serve(['--receive-dir', `${desk.home}/in`]);
        await phone.serve(['--receive-dir', `${phone.home}/in`, '--type', 'phone']);
        await waitDevice(desk, 'Pixel 7', 'reachable', 15000, d => d.reachable);
        await pairBoth(desk, phone);
        files = ['zdjęcie 1.jpg', 'notatki.txt'].map(n => `${desk.home}/${n}`);
        for (const [i, f] of files.entries())
            await check(['sh', '-c', `head -c ${[2500000, 1234][i]} /dev/urandom > '${f}'`]);
    }, 120000);

    afterAll(async () => {
        await tablet?.destroy();
        await phone?.destroy();
        await desk?.destroy();
        await hosts?.destroy();
    });

    it('offers "Send to <device>" for local files only, and sends the selection as one batch', async () => {
        if (!ready())
            return;
        const folder = `${desk.home}/in/`;
        const d = await drive('Send to Pixel 7', [...files, folder, 'sftp://example.org/remote.txt']);
        expect(d.ready).toBeTrue();
        expect(d.selections.files).toEqual([{label: 'Send to Pixel 7', items: []}]);
        // a folder or a remote location in the selection: nothing to offer
        expect(d.selections.all).toEqual([]);
        expect(d.selections.folders).toEqual([]);
        expect(d.selections.remote).toEqual([]);
        expect(d.selections.nothing).toEqual([]);
        expect(d.sent.length).toBe(1);
        expect(d.sent[0]).toMatch(/^[0-9a-f]+$/);
        for (const f of files) {
            const got = `${phone.home}/in/${GLib.path_get_basename(f)}`;
            await check(['sh', '-c', `for i in $(seq 1 100); do [ -e '${got}' ] && exit 0; sleep 0.1; done; exit 1`]);
            expect(await sha256(got)).toBe(await sha256(f));
        }
        // one batch: the transfer Nautilus started carried both files
        await desk.serveProc!.waitForLine(new RegExp(`transfer ${d.sent[0]} to Pixel 7 done \\(2/2 files`), 10000);
    });

    it('groups several devices under "Send to Device"', async () => {
        if (!ready())
            return;
        tablet = new FerryNode(hosts.nsB, 'Tablet');
        await tablet.serve(['--receive-dir', `${tablet.home}/in`, '--type', 'tablet', '--to', hosts.ipA]);
        await waitDevice(desk, 'Tablet', 'reachable', 15000, x => x.reachable);
        await pairBoth(desk, tablet);
        const d = await drive('Tablet', files.slice(1));
        expect(d.selections.files).toEqual([{label: 'Send to Device', items: ['Pixel 7', 'Tablet']}]);
        expect(d.sent.length).toBe(1);
        const got = `${tablet.home}/in/notatki.txt`;
        await check(['sh', '-c', `for i in $(seq 1 100); do [ -e '${got}' ] && exit 0; sleep 0.1; done; exit 1`]);
        expect(await sha256(got)).toBe(await sha256(files[1]));
    });

    it('completes commands, options, device names and files in bash, and sends file:// URIs', async () => {
        if (!ready())
            return;
        expect(await complete('se')).toEqual(['send', 'send-text', 'send-url', 'serve']);
        expect(await complete('--ty')).toEqual(['--type']);
        expect(await complete('--identity', 'g')).toEqual(['gsconnect']);
        expect(await complete('send', 'Pix')).toEqual(['Pixel\\ 7']);
        expect(await complete('send', 'Pixel\\ ')).toEqual(['Pixel\\ 7']);
        expect(await complete('pair', '')).toEqual(jasmine.arrayContaining(['Pixel\\ 7', 'Tablet']));
        expect(await complete('send', 'Tablet', `${desk.home}/zdj`)).toEqual([`${desk.home}/zdjęcie 1.jpg`]);
        const uri = GLib.filename_to_uri(files[0], null) ?? '';
        const r = await desk.cli(['send', 'Tablet', uri]);
        expect(r.status).withContext(r.stderr).toBe(0);
        expect(await sha256(`${tablet.home}/in/${GLib.path_get_basename(files[0])}`)).toBe(await sha256(files[0]));
    });

    it('offers nothing when Ferry is not running', async () => {
        if (!ready())
            return;
        await desk.stopServe();
        const r = await run([PYTHON, '-c', `
import importlib.util, sys, time
import gi
gi.require_version('Nautilus', '4.0')
from gi.repository import GLib
spec = importlib.util.spec_from_file_location('f', sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
sys.path.insert(0, sys.argv[2]); import drive
p = m.FerryMenuProvider()
end = time.monotonic() + 2
while time.monotonic() < end:
    GLib.MainContext.default().iteration(False); time.sleep(0.01)
print(len(p.get_file_items([drive.info(sys.argv[3])])))
`, `${ROOT}/nautilus/ferry-nautilus.py`, `${ROOT}/test/nautilus`, files[0]], desk.env);
        expect(r.stdout.trim()).withContext(r.stderr).toBe('0');
    });
});
