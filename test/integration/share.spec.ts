// Files, text and links between two paired Ferry engines in network namespaces, over real TLS:
// byte-exact (sha256), modification times kept, cancel on either side leaves nothing behind.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {pairBoth, requireRoot, waitDevice} from '../lib/ferry.js';
import {check, isRoot, run, sha256, waitFor} from '../lib/proc.js';

interface Transfer {
    id: string; state: string; bytes: number; totalBytes: number; direction: string;
}

async function mtime(path: string): Promise<string> {
    return (await check(['stat', '-c', '%Y', path])).trim();
}

async function listDir(dir: string): Promise<string[]> {
    const out = await check(['ls', '-A', dir]);
    return out.split('\n').filter(l => l.length > 0).sort();
}

describe('sharing between two Ferry engines', () => {
    let hosts: HostPair;
    let a: FerryNode, b: FerryNode;
    let recvA: string, recvB: string, src: string;
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;
    let ready = false;

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
        if (!isRoot())
            return;
        hosts = await HostPair.create();
        a = new FerryNode(hosts.nsA, 'Alpha');
        b = new FerryNode(hosts.nsB, 'Beta');
        recvA = `${a.home}/received`;
        recvB = `${b.home}/received`;
        src = GLib.dir_make_tmp('ferry-src-XXXXXX') ?? '';
        await a.serve(['--receive-dir', recvA]);
        await b.serve(['--receive-dir', recvB]);
        await waitDevice(a, 'Beta', 'reachable', 10000, d => d.reachable);
        await pairBoth(a, b);
        await waitDevice(b, 'Alpha', 'paired', 5000, d => d.paired && d.reachable);
        ready = true;
    }, 300000);

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        if (!ready && !a)
            return;
        await a?.destroy();
        await b?.destroy();
        await hosts?.destroy();
        await run(['rm', '-rf', src]);
    });

    it('sends one file byte-exact and keeps its modification time', async () => {
        if (!requireRoot(isRoot()))
            return;
        const file = `${src}/report.bin`;
        await check(['sh', '-c', `head -c 3000001 /dev/urandom > '${file}' && touch -d '2021-03-04 05:06:07' '${file}'`]);
        const r = await a.cli(['send', 'Beta', file]);
        expect(r.status).withContext(r.stderr + r.stdout).toBe(0);
        expect(r.stdout).toMatch(/sent 1 file .* to Beta/);
        const got = `${recvB}/report.bin`;
        expect(await sha256(got)).toBe(await sha256(file));
        expect(await mtime(got)).toBe(await mtime(file));
        expect(await listDir(recvB)).toEqual(['report.bin']);
    });

    it('sends a batch of 5 (empty, 200 MiB, spaces, Polish, emoji) byte-exact the other way', async () => {
        if (!requireRoot(isRoot()))
            return;
        const names = ['empty.txt', 'big 200MiB.bin', 'name with spaces.txt', 'Zażółć gęślą jaźń.pdf', 'emoji 😀 fun.png'];
        const sizes = [0, 200 * 1024 * 1024, 12345, 777777, 4096];
        for (const [i, n] of names.entries())
            await check(['sh', '-c', `head -c ${sizes[i]} /dev/urandom > '${src}/${n}'`]);
        const r = await b.cli(['send', 'Alpha', ...names.map(n => `${src}/${n}`)]);
        expect(r.status).withContext(r.stderr + r.stdout).toBe(0);
        expect(r.stdout).toMatch(/sent 5 files/);
        expect(await listDir(recvA)).toEqual([...names].sort());
        for (const n of names)
            expect(await sha256(`${recvA}/${n}`)).withContext(n).toBe(await sha256(`${src}/${n}`));
    });

    it('numbers a name that exists already instead of overwriting it, and accepts file:// URIs', async () => {
        if (!requireRoot(isRoot()))
            return;
        const file = `${src}/photo.tar.gz`;
        await check(['sh', '-c', `head -c 1000 /dev/urandom > '${file}'`]);
        for (let i = 0; i < 2; i++) {
            const r = await a.cli(['send', 'Beta', `file://${file}`]);
            expect(r.status).withContext(r.stderr).toBe(0);
        }
        expect((await listDir(recvB)).filter(n => n.startsWith('photo'))).toEqual(['photo (1).tar.gz', 'photo.tar.gz']);
        expect(await sha256(`${recvB}/photo (1).tar.gz`)).toBe(await sha256(file));
    });

    it('delivers text and links, announced by the receiving engine', async () => {
        if (!requireRoot(isRoot()))
            return;
        const text = 'Dzień dobry 👋 "quoted" text';
        expect((await a.cli(['send-text', 'Beta', text])).status).toBe(0);
        await b.serveProc!.waitForLine(new RegExp(`text from Alpha: ${text}`));
        expect((await b.cli(['send-url', 'Alpha', 'https://example.org/a?b=c'])).status).toBe(0);
        await a.serveProc!.waitForLine(/link from Beta: https:\/\/example\.org\/a\?b=c/);
    });

    async function cancelMidway(sender: FerryNode, receiver: FerryNode, cancelOn: FerryNode, name: string): Promise<void> {
        const file = `${src}/${name}`;
        await check(['truncate', '-s', '3G', file]);
        const sending = sender.cli(['send', receiver.name, file]);
        const t = await waitFor('the transfer to be under way', 20000, async () =>
            (await cancelOn.json<Transfer[]>(['transfers'])).find(x => x.bytes > 0 && x.state === 'active'));
        const c = await cancelOn.cli(['cancel', t.id]);
        expect(c.status).withContext(c.stderr).toBe(0);
        const r = await sending;
        expect(r.status).withContext(r.stdout).toBe(6);
        expect(r.stderr).toMatch(/transfer (cancelled|failed)/);
        const recv = receiver === a ? recvA : recvB;
        await waitFor('no partial file', 5000, async () =>
            (await listDir(recv)).some(n => n.includes('partial') || n === name) ? undefined : true);
        await run(['rm', '-f', file]);
        // the link still works
        const small = `${src}/after-${name}.txt`;
        await check(['sh', '-c', `echo still here > '${small}'`]);
        const again = await sender.cli(['send', receiver.name, small]);
        expect(again.status).withContext(again.stderr).toBe(0);
        expect(await sha256(`${recv}/after-${name}.txt`)).toBe(await sha256(small));
    }

    it('cancels on the sending side mid-transfer: no partial file, the link stays usable', async () => {
        if (!requireRoot(isRoot()))
            return;
        await cancelMidway(a, b, a, 'huge-a.bin');
    });

    it('cancels on the receiving side mid-transfer: no partial file, the link stays usable', async () => {
        if (!requireRoot(isRoot()))
            return;
        await cancelMidway(b, a, a, 'huge-b.bin');
    });
});
