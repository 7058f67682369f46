// Ferry against a real kdeconnectd (Debian's kdeconnect, 22.12 on Debian 12: protocol 7) in
// another network namespace: discovery, pairing both ways, files and text both ways.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {devices, waitDevice} from '../lib/ferry.js';
import {KdePeer, haveKdeconnect} from '../lib/kdeconnect.js';
import {check, isRoot, run, waitFor} from '../lib/proc.js';

function prerequisites(): boolean {
    const missing = !isRoot() ? 'root (network namespaces)' : !haveKdeconnect() ? 'kdeconnect (apt-get install kdeconnect)' : null;
    if (!missing)
        return true;
    if (GLib.getenv('CI'))
        fail(`the interoperability tests need ${missing}`);
    else
        pending(`needs ${missing}`);
    return false;
}

async function sha256(path: string): Promise<string> {
    return (await check(['sha256sum', path])).split(' ')[0];
}

describe('interoperability with kdeconnectd', () => {
    let hosts: HostPair;
    let ferry: FerryNode;
    let kde: KdePeer;
    let recv: string, src: string, ferryId: string;
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
        if (!isRoot() || !haveKdeconnect())
            return;
        hosts = await HostPair.create();
        ferry = new FerryNode(hosts.nsA, 'Ferry');
        recv = `${ferry.home}/received`;
        src = GLib.dir_make_tmp('ferry-src-XXXXXX') ?? '';
        ferryId = (await ferry.json<{id: string}>(['id'])).id;
        kde = await KdePeer.start(hosts.nsB, 'Plasma');
        await ferry.serve(['--receive-dir', recv]);
    });

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        await kde?.destroy();
        await ferry?.destroy();
        await hosts?.destroy();
        if (src)
            await run(['rm', '-rf', src]);
    });

    it('discovers kdeconnectd and is discovered by it', async () => {
        if (!prerequisites())
            return;
        const d = await waitDevice(ferry, 'Plasma', 'reachable', 20000, x => x.reachable);
        expect(d.id).toBe(kde.id);
        const version = (await kde.cli('--version')).stdout;
        expect(d.protocolVersion).toBe(/kdeconnect-cli 2[2-3]\./.test(version) ? 7 : 8);
        await waitFor('kdeconnectd to see Ferry', 10000, async () => await kde.deviceProperty(ferryId, 'isReachable') || undefined);
    });

    it('pairs when Ferry asks and kdeconnectd accepts', async () => {
        if (!prerequisites())
            return;
        const requesting = ferry.cli(['pair', 'Plasma']);
        await waitFor('kdeconnectd to see the request', 15000, async () =>
            await kde.deviceProperty(ferryId, 'hasPairingRequests') || await kde.deviceProperty(ferryId, 'isPairRequestedByPeer') || undefined);
        await kde.deviceCall(ferryId, 'acceptPairing');
        const r = await requesting;
        expect(r.status).withContext(r.stderr).toBe(0);
        expect(r.stdout).toMatch(/Paired with Plasma/);
        await waitFor('kdeconnectd to trust Ferry', 5000, async () =>
            await kde.deviceProperty(ferryId, 'isTrusted') || await kde.deviceProperty(ferryId, 'isPaired') || undefined);
    });

    it('sends kdeconnectd one file and a batch of 3 byte-exact', async () => {
        if (!prerequisites())
            return;
        const names = ['single.bin', 'empty.txt', 'z odstępami i ą ę.txt', 'photo.jpg'];
        const sizes = [5 * 1024 * 1024 + 3, 0, 4321, 1000000];
        for (const [i, n] of names.entries())
            await check(['sh', '-c', `head -c ${sizes[i]} /dev/urandom > '${src}/${n}'`]);
        const one = await ferry.cli(['send', 'Plasma', `${src}/${names[0]}`]);
        expect(one.status).withContext(one.stderr).toBe(0);
        const batch = await ferry.cli(['send', 'Plasma', ...names.slice(1).map(n => `${src}/${n}`)]);
        expect(batch.status).withContext(batch.stderr + kde.log.split('\n').filter(l => /share|payload|ssl|job|empty/i.test(l)).slice(-30).join('\n')).toBe(0);
        for (const n of names) {
            const got = await kde.waitForDownload(n);
            expect(await sha256(got)).withContext(n).toBe(await sha256(`${src}/${n}`));
        }
    });

    it('receives a file and text from kdeconnectd', async () => {
        if (!prerequisites())
            return;
        const name = 'from plasma ż.bin';
        await check(['sh', '-c', `head -c 3000000 /dev/urandom > '${src}/${name}'`]);
        const r = await kde.cli('-d', ferryId, '--share', `${src}/${name}`);
        expect(r.status).withContext(r.stderr).toBe(0);
        const got = await waitFor('the file from kdeconnectd', 30000, () =>
            GLib.file_test(`${recv}/${name}`, GLib.FileTest.EXISTS) ? `${recv}/${name}` : undefined);
        expect(await sha256(got)).toBe(await sha256(`${src}/${name}`));
        const t = await kde.cli('-d', ferryId, '--share-text', 'Cześć from Plasma');
        expect(t.status).withContext(t.stderr).toBe(0);
        await ferry.serveProc!.waitForLine(/text from Plasma: Cześć from Plasma/, 10000);
    });

    it('reconnects paired after kdeconnectd restarts', async () => {
        if (!prerequisites())
            return;
        await kde.restart();
        const d = await waitDevice(ferry, 'Plasma', 'paired and reachable', 30000, x => x.reachable && x.paired);
        expect(d.id).toBe(kde.id);
    });

    it('accepts a pairing request from kdeconnectd after unpairing', async () => {
        if (!prerequisites())
            return;
        const un = await ferry.cli(['unpair', 'Plasma']);
        expect(un.status).withContext(un.stderr).toBe(0);
        await waitFor('kdeconnectd to forget Ferry', 10000, async () =>
            await kde.deviceProperty(ferryId, 'isTrusted') || await kde.deviceProperty(ferryId, 'isPaired') ? undefined : true);
        await kde.deviceCall(ferryId, (await kde.cli('--version')).stdout.includes('kdeconnect-cli 2') &&
            /kdeconnect-cli 2[2-3]\./.test((await kde.cli('--version')).stdout) ? 'requestPair' : 'requestPairing');
        await waitDevice(ferry, 'Plasma', 'asking to pair', 15000, x => x.pairState === 'requestedByPeer');
        const r = await ferry.cli(['pair', 'Plasma']);
        expect(r.status).withContext(r.stderr).toBe(0);
        await waitFor('kdeconnectd to trust Ferry again', 10000, async () =>
            await kde.deviceProperty(ferryId, 'isTrusted') || await kde.deviceProperty(ferryId, 'isPaired') || undefined);
        expect((await devices(ferry)).find(d => d.name === 'Plasma')?.paired).toBeTrue();
    });
});
