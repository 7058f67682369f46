// A scripted peer sends hostile names, short, long, vanishing and malformed shares to a real
// `ferry serve`: nothing is written outside the receive folder, nothing is overwritten, no
// partial or half file stays, every refusal has a reason, and the link stays up.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {requireRoot, waitDevice} from '../lib/ferry.js';
import {check, isRoot, waitFor} from '../lib/proc.js';
import {readTextFile} from '../lib/certs.js';
import {ScriptedPeer, Step, fileStep} from '../lib/scriptedPeer.js';

const file = fileStep;

async function ls(dir: string): Promise<string[]> {
    return (await check(['ls', '-A', dir])).split('\n').filter(Boolean).sort();
}

describe('hostile input from a paired peer', () => {
    let hosts: HostPair;
    let a: FerryNode;
    let peerDir: string, recv: string, outside: string, peerId: string;
    let evil: ScriptedPeer;
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
        if (!isRoot())
            return;
        hosts = await HostPair.create();
        a = new FerryNode(hosts.nsA, 'Alpha');
        recv = `${a.home}/received`;
        outside = `${a.home}/outside`;
        // each side already trusts the other (as after pairing)
        evil = await ScriptedPeer.create(a, hosts.nsB);
        peerDir = evil.dir;
        peerId = evil.id;
        await check(['mkdir', '-p', recv, outside]);
        await check(['sh', '-c', `echo ORIGINAL > '${outside}/link-target.txt' && echo KEEP > '${recv}/existing.txt' && ` +
            `ln -s '${outside}/link-target.txt' '${recv}/planted.txt' && ln -s '${outside}/never.txt' '${recv}/dangling.txt'`]);
        await a.serve(['--receive-dir', recv]);
    }, 300000);

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        await a?.destroy();
        await hosts?.destroy();
        await evil?.destroy();
    });

    async function runPeer(steps: Step[]): Promise<string> {
        return evil.run(steps);
    }

    const hostileNames: [unknown, string | null][] = [
        ['../outside-1.txt', 'outside-1.txt'],
        ['../../outside-2.txt', 'outside-2.txt'],
        ['..\\..\\outside-3.txt', 'outside-3.txt'],
        ['./../outside-4.txt', 'outside-4.txt'],
        ['../outside/link-target.txt', 'link-target.txt'],
        ['/tmp/ferry-absolute-target.txt', 'ferry-absolute-target.txt'],
        ['C:\\evil\\win.ini', 'win.ini'],
        ['nul\u0000byte.txt', 'nulbyte.txt'],
        ['bell\u0007\u001b[2J.txt', 'bell[2J.txt'],
        ['new\nline.txt', 'newline.txt'],
        ['.', 'received-file'],
        ['..', 'received-file (1)'],
        ['', 'received-file (2)'],
        ['...', 'received-file (3)'],
        ['.evil-hidden', 'evil-hidden'],
        ['../.bashrc', 'bashrc'],
        ['existing.txt', 'existing (1).txt'],
        ['planted.txt', 'planted (1).txt'],
        ['dangling.txt', 'dangling (1).txt'],
        ['existing.txt', 'existing (2).txt'],
        [`${'x'.repeat(300)}.txt`, null],
        [`${'ż'.repeat(150)}.txt`, null],
        ['rtl\u202etxt.exe', 'rtltxt.exe'],
        ['dir/', 'received-file (4)'],
        ['/', 'received-file (5)'],
        ['trailing. . .', 'trailing'],
        ['ok name.txt', 'ok name.txt'],
        ['Zażółć gęślą jaźń.txt', 'Zażółć gęślą jaźń.txt'],
        ['emoji 😀.txt', 'emoji 😀.txt'],
        ['archive.tar.gz', 'archive.tar.gz'],
        ['../archive.tar.gz', 'archive (1).tar.gz'],
    ];

    it(`keeps ${hostileNames.length} hostile names inside the receive folder without overwriting anything`, async () => {
        if (!requireRoot(isRoot()))
            return;
        expect(hostileNames.length).toBeGreaterThanOrEqual(30);
        const out = await runPeer(hostileNames.map(([n]) => file(n, 10)));
        expect(out).toContain('link up');
        const names = await ls(recv);
        for (const [sent, expected] of hostileNames) {
            if (expected)
                expect(names).withContext(JSON.stringify(sent)).toContain(expected);
        }
        const long = names.filter(n => n.startsWith('xxx') || n.startsWith('żżż'));
        expect(long.length).toBe(2);
        for (const n of long)
            expect(new TextEncoder().encode(n).length).toBeLessThanOrEqual(255);
        // pre-existing entries intact
        expect(readTextFile(`${recv}/existing.txt`)).toBe('KEEP\n');
        expect((await check(['readlink', `${recv}/planted.txt`])).trim()).toBe(`${outside}/link-target.txt`);
        expect(readTextFile(`${outside}/link-target.txt`)).toBe('ORIGINAL\n');
        expect(await ls(outside)).toEqual(['link-target.txt']);
        expect((await ls(a.home)).filter(n => n.startsWith('outside-') || n.includes('bashrc'))).toEqual([]);
        expect(GLib.file_test('/tmp/ferry-absolute-target.txt', GLib.FileTest.EXISTS)).toBeFalse();
        expect(names.filter(n => n.startsWith('.'))).toEqual([]);
        // every hostile name gave exactly one new file, next to the 3 entries planted before
        expect(names.length).withContext(names.join(" | ")).toBe(hostileNames.length + 3);
    });

    it('drops short and vanishing payloads, cuts extra bytes, and completes without waiting for close, small or not', async () => {
        if (!requireRoot(isRoot()))
            return;
        const out = await runPeer([
            file('short.bin', 1000, 500),
            file('abort.bin', 100000, 5000, {behaviour: 'abort'}),
            file('extra.bin', 100, 150),
            file('held.bin', 70000, 70000, {behaviour: 'hold', holdUntilFile: `${recv}/held.bin`}),
            // at most SMALL_PAYLOAD_BYTES goes another way (copied on the main loop): held open too
            file('held-small.bin', 4000, 4000, {behaviour: 'hold', holdUntilFile: `${recv}/held-small.bin`}),
            file('after.bin', 20),
            {...file('unknown-size.bin', -1, 30000)},
            file('after-unknown.bin', 5),
        ]);
        expect(out).toContain('step 3 file complete while held open');
        expect(out).toContain('step 4 file complete while held open');
        expect(out).toContain('link up');
        const names = await ls(recv);
        expect(names).not.toContain('short.bin');
        expect(names).not.toContain('abort.bin');
        expect(names.filter(n => n.includes('partial'))).toEqual([]);
        expect((await check(['stat', '-c', '%s', `${recv}/extra.bin`])).trim()).toBe('100');
        expect((await check(['stat', '-c', '%s', `${recv}/held.bin`])).trim()).toBe('70000');
        expect((await check(['stat', '-c', '%s', `${recv}/held-small.bin`])).trim()).toBe('4000');
        expect((await check(['stat', '-c', '%s', `${recv}/after.bin`])).trim()).toBe('20');
        // payloadSize -1 (Android): read until the sender closes
        expect((await check(['stat', '-c', '%s', `${recv}/unknown-size.bin`])).trim()).toBe('30000');
        expect((await check(['stat', '-c', '%s', `${recv}/after-unknown.bin`])).trim()).toBe('5');
        const log = a.serveProc!.output;
        expect(log).toMatch(/short\.bin: the device sent 500 of 1000 bytes/);
        expect(log).toMatch(/receiving from Evil failed: abort\.bin: /);
    });

    it('refuses bad ports, sizes and types with a reason and keeps the link', async () => {
        if (!requireRoot(isRoot()))
            return;
        const out = await runPeer([
            {packet: {type: 'kdeconnect.share.request', body: {filename: 'port.bin'}, payloadSize: 5, payloadTransferInfo: {port: 22}}},
            {packet: {type: 'kdeconnect.share.request', body: {filename: 'negative.bin'}, payloadSize: -5, payloadTransferInfo: {port: 1740}}},
            {packet: {type: 'kdeconnect.share.request', body: {filename: 42}, payloadSize: 5, payloadTransferInfo: {port: 1740}}},
            {packet: {type: 'kdeconnect.share.request', body: {filename: 'nosize.bin'}, payloadTransferInfo: {port: 1740}}},
            {raw: 'this is not json'},
            {raw: '{"id":1,"type":"kdeconnect.share.request"}'},
            {packet: {type: 'kdeconnect.unknown.thing', body: {x: 1}}},
            {packet: {type: 'kdeconnect.share.request', body: {text: 'still talking'}}, waitMs: 500},
        ]);
        expect(out).toContain('link up');
        // the peer is done when its last byte left: the receiver may still be logging
        await a.serveProc!.waitForLine(/refused a share request: "port\.bin" announces payload port 22, outside 1739–1764/, 5000);
        await a.serveProc!.waitForLine(/ignored a malformed packet: packet kdeconnect\.share\.request has an invalid payloadSize/, 5000);
        await a.serveProc!.waitForLine(/refused a share request: filename is not a string/, 5000);
        await a.serveProc!.waitForLine(/refused a share request: "nosize\.bin" comes without payloadSize/, 5000);
        await a.serveProc!.waitForLine(/ignored a malformed packet: packet is not valid JSON/, 5000);
        await a.serveProc!.waitForLine(/ignored a malformed packet: packet kdeconnect\.share\.request has no body object/, 5000);
        await a.serveProc!.waitForLine(/text from Evil: still talking/, 5000);
        const names = await ls(recv);
        for (const n of ['port.bin', 'negative.bin', 'nosize.bin'])
            expect(names).not.toContain(n);
        await waitDevice(a, 'Evil', 'still paired', 5000, d => d.paired);
    });

    it('refuses files politely (connect and close) when receiving from the device is switched off', async () => {
        if (!requireRoot(isRoot()))
            return;
        await a.stopServe();
        GLib.file_set_contents(`${a.configDir}/config.json`, new TextEncoder().encode(JSON.stringify({receiveDisabled: [peerId]})));
        await a.serve(['--receive-dir', recv]);
        try {
            const out = await runPeer([file('switched-off.bin', 100000), {packet: {type: 'kdeconnect.share.request', body: {text: 'ok'}}, waitMs: 300}]);
            // the refusal is a connection closed before any byte was read
            expect(out).toMatch(/step 0 (payload error|closed)/);
            expect(out).toContain('link up');
            expect(await ls(recv)).not.toContain('switched-off.bin');
            expect(a.serveProc!.output).toMatch(/refused "switched-off\.bin": receiving files from this device is off/);
        } finally {
            await a.stopServe();
            GLib.unlink(`${a.configDir}/config.json`);
            await a.serve(['--receive-dir', recv]);
        }
    });

    it('announces a file again on the new link when the one it was announced on is dropped before the fetch, and the device gets it once', async () => {
        if (!requireRoot(isRoot()))
            return;
        // as kdeconnectd does (docs/interop.md, quirk 18): the announcement is not read, the link it came on is dropped
        const path = `${peerDir}/replaced link.bin`;
        await check(['sh', '-c', `head -c 200000 /dev/urandom > '${path}'`]);
        const before = a.serveProc!.output.length;
        const peer = runPeer([{receive: {ignore: 1, dropLink: true}, waitMs: 12000}]);
        await waitFor('the peer to listen', 20000, async () => evil.current?.output.includes('step 0 receiving') || undefined);
        const r = await a.cli(['send', 'Evil', path]);
        const out = await peer;
        const log = a.serveProc!.output.slice(before);
        expect(r.status).withContext(`${r.stderr}\n${log}\n${out}`).toBe(0);
        expect(out).toContain('ignored the announcement of replaced link.bin, dropping its link');
        expect(log).toMatch(/announcing "replaced link\.bin" to Evil again: the link it was announced on was replaced before the device fetched it/);
        expect(log).toMatch(/sent \S+\/replaced link\.bin \(200000 bytes\) to Evil: .*\(announced 2 times/);
        expect(await ls(`${peerDir}/received`)).toEqual(['replaced link.bin']);
        expect(await check(['sha256sum', `${peerDir}/received/replaced link.bin`]).then(o => o.split(' ')[0]))
            .toBe(await check(['sha256sum', path]).then(o => o.split(' ')[0]));
    });

    it('gives up with a clear error when the receiver never fetches the file (30 s), having announced it once: its link stayed', async () => {
        if (!requireRoot(isRoot()))
            return;
        const path = `${peerDir}/kept link.bin`;
        await check(['sh', '-c', `head -c 1000 /dev/urandom > '${path}'`]);
        const before = a.serveProc!.output.length;
        // it reads the announcement and does nothing: the link stays as it is
        const peer = runPeer([{receive: {ignore: 1}, waitMs: 34000}]);
        await waitFor('the peer to listen', 20000, async () => evil.current?.output.includes('step 0 receiving') || undefined);
        const r = await a.cli(['send', 'Evil', path]);
        const out = await peer;
        expect(r.status).toBe(6);
        expect(r.stderr).toMatch(/kept link\.bin: the device did not connect to fetch the file within 30 s/);
        expect(out.match(/ignored the announcement of kept link\.bin/g)?.length).toBe(1);
        expect(a.serveProc!.output.slice(before)).not.toMatch(/kept link\.bin" to Evil again/);
    });

    it('refuses shares from a device that is not paired, and ends its link at a line longer than 64 KiB', async () => {
        if (!requireRoot(isRoot()))
            return;
        const saved = readTextFile(`${a.configDir}/devices.json`);
        // the unpaired Victim tells Evil so ({"pair": false}) and Evil forgets it: both are paired again after
        const savedEvil = readTextFile(`${evil.dir}/devices.json`);
        await a.stopServe();
        GLib.file_set_contents(`${a.configDir}/devices.json`, new TextEncoder().encode('{"version":1,"devices":{},"revoked":{}}'));
        await a.serve(['--receive-dir', recv]);
        try {
            const out = await runPeer([{...file('unpaired.bin', 10), waitMs: 500}, {raw: `"${'x'.repeat(100000)}"`, waitMs: 1000}]);
            expect(await ls(recv)).not.toContain('unpaired.bin');
            expect(a.serveProc!.output).toMatch(/refused kdeconnect\.share\.request from an unpaired device/);
            // only pairing packets are any use from it, and they are small
            expect(a.serveProc!.output).toMatch(/disconnected Evil \(\w+\): line exceeds the limit of 65536 bytes/);
            expect(out).toContain('link down');
        } finally {
            await a.stopServe();
            GLib.file_set_contents(`${a.configDir}/devices.json`, new TextEncoder().encode(saved));
            GLib.file_set_contents(`${evil.dir}/devices.json`, new TextEncoder().encode(savedEvil));
            await a.serve(['--receive-dir', recv]);
        }
    });
    it('ends a batch its sender abandons when another begins, and records both truthfully', async () => {
        if (!requireRoot(isRoot()))
            return;
        const batchFile = (name: string, size: number, count: number, total: number): Step => ({packet: {type: 'kdeconnect.share.request',
            body: {filename: name, numberOfFiles: count, totalPayloadSize: total}, payloadSize: size}, payload: {send: size, behaviour: 'close'}});
        // one file of an announced three, then a new batch of two (other totals): as after a stalled or restarted sender
        const out = await runPeer([batchFile('abandoned 1.bin', 1000, 3, 3000), {waitMs: 300},
            batchFile('next 1.bin', 2000, 2, 2500), batchFile('next 2.bin', 500, 2, 2500)]);
        expect(out).toContain('link up');
        const records = await waitFor('both batches to end', 10000, async () => {
            const r = (await a.json<{state: string; files: string[]; delivered: number; numberOfFiles: number; error: string}[]>(['transfers']))
                .filter(t => t.files.some(f => /abandoned|next/.test(f)));
            return r.length === 2 && r.every(t => t.state !== 'active') ? r : undefined;
        });
        expect(records[0]).toEqual(jasmine.objectContaining({state: 'failed', delivered: 1, numberOfFiles: 3}));
        expect(records[0].error).toMatch(/began another batch after 1 of 3 files/);
        expect(records[1]).toEqual(jasmine.objectContaining({state: 'done', delivered: 2, numberOfFiles: 2}));
        expect(records[1].files.map(f => f.split('/').pop())).toEqual(['next 1.bin', 'next 2.bin']);
    });

    it('keeps back-to-back batches with the same totals apart while their files are fetched and placed', async () => {
        if (!requireRoot(isRoot()))
            return;
        const twin = (name: string, size: number): Step => ({packet: {type: 'kdeconnect.share.request',
            body: {filename: name, numberOfFiles: 2, totalPayloadSize: 1500}, payloadSize: size}, payload: {send: size, behaviour: 'close'}});
        // nothing between them tells the batches apart but their counts: the second begins as soon as the first's last file is fetched
        const out = await runPeer([twin('twin a1.bin', 1000), twin('twin a2.bin', 500), twin('twin b1.bin', 1000), twin('twin b2.bin', 500)]);
        expect(out).toContain('link up');
        const records = await waitFor('both batches to end', 10000, async () => {
            const r = (await a.json<{state: string; files: string[]; delivered: number; numberOfFiles: number}[]>(['transfers']))
                .filter(t => t.files.some(f => /twin/.test(f)));
            return r.length === 2 && r.every(t => t.state !== 'active') ? r : undefined;
        });
        expect(records.map(t => [t.state, t.delivered, t.numberOfFiles])).toEqual([['done', 2, 2], ['done', 2, 2]]);
        expect(records.map(t => t.files.map(f => f.split('/').pop()))).toEqual([['twin a1.bin', 'twin a2.bin'], ['twin b1.bin', 'twin b2.bin']]);
    });
});
