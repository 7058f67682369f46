// Two real `ferry serve` engines in two network namespaces joined by a veth pair: discovery,
// TLS links, pairing, pinning, protocol 7 against 8, and unicast discovery.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {isRoot, run, sleep} from '../lib/proc.js';
import {devices, pairBoth as pairNodes, requireRoot as needRoot, waitDevice} from '../lib/ferry.js';

const requireRoot = () => needRoot(isRoot());

async function pairBoth(a: FerryNode, b: FerryNode): Promise<{keyA: string; keyB: string}> {
    const {keyA, keyB, pendingKey} = await pairNodes(a, b);
    expect(pendingKey).toBe(keyB);
    return {keyA, keyB};
}


describe('two Ferry engines in network namespaces', () => {
    let hosts: HostPair | null = null;
    let nodes: FerryNode[] = [];
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

    beforeAll(() => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 90000;
    });
    afterAll(() => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
    });

    async function setUp(broadcast = true): Promise<[FerryNode, FerryNode]> {
        hosts = await HostPair.create({broadcast});
        const a = new FerryNode(hosts.nsA, 'Alpha'), b = new FerryNode(hosts.nsB, 'Beta');
        nodes = [a, b];
        return [a, b];
    }

    afterEach(async () => {
        for (const n of nodes)
            await n.destroy();
        nodes = [];
        await hosts?.destroy();
        hosts = null;
    });

    it('discover each other both ways and link over TLS with protocol 8', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp();
        // broadcasts alone, so that which side connects is known (multicast DNS would race them:
        // test/integration/mdns.spec.ts)
        for (const n of [a, b]) {
            GLib.mkdir_with_parents(n.configDir, 0o700);
            GLib.file_set_contents(`${n.configDir}/config.json`, new TextEncoder().encode('{"mdns": false}'));
        }
        const serveA = await a.serve();
        const serveB = await b.serve();
        // A was up first: B's start-up broadcast reaches A, which connects to B
        await serveA.waitForLine(/discovered Beta .* at 10\.213\./);
        await serveA.waitForLine(/connected Beta \(\w+\) protocol 8 outgoing unpaired/);
        await serveB.waitForLine(/connected Alpha \(\w+\) protocol 8 incoming unpaired/);
        // now A restarts: its broadcast reaches B, which connects to A
        await a.stopServe();
        const serveA2 = await a.serve();
        await serveB.waitForLine(/discovered Alpha .* at 10\.213\./);
        await serveA2.waitForLine(/connected Beta \(\w+\) protocol 8 incoming unpaired/);
        const seenByA = await waitDevice(a, 'Beta', 'reachable', 5000, d => d.reachable);
        const seenByB = await waitDevice(b, 'Alpha', 'reachable', 5000, d => d.reachable);
        expect(seenByA).toEqual(jasmine.objectContaining({paired: false, protocolVersion: 8}));
        expect(seenByB).toEqual(jasmine.objectContaining({paired: false, protocolVersion: 8}));
        const idB = await b.json<{id: string}>(['id']);
        expect(seenByA.id).toBe(idB.id);
    });

    it('pair with the same verification key on both sides, reconnect pinned after a restart, and refuse a changed certificate', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp();
        const serveA = await a.serve();
        await b.serve();
        await waitDevice(a, 'Beta', 'reachable', 10000, d => d.reachable);
        const {keyA, keyB} = await pairBoth(a, b);
        expect(keyA).toMatch(/^[0-9A-F]{8}$/);
        expect(keyA).toBe(keyB);
        expect((await waitDevice(a, 'Beta', 'paired', 5000, d => d.paired)).reachable).toBeTrue();
        expect((await waitDevice(b, 'Alpha', 'paired', 5000, d => d.paired)).reachable).toBeTrue();

        // restart B: the pinned certificates let the link come back, still paired
        await b.stopServe();
        await waitDevice(a, 'Beta', 'unreachable', 10000, d => !d.reachable && d.paired);
        const serveB2 = await b.serve();
        await serveB2.waitForLine(/connected Alpha \(\w+\) protocol 8 \w+ paired/);
        await waitDevice(a, 'Beta', 'paired and reachable again', 10000, d => d.paired && d.reachable);

        // B gets a new key pair under the same device id: A refuses it and says so
        const idB = (await b.json<{id: string}>(['id'])).id;
        await b.stopServe();
        await waitDevice(a, 'Beta', 'unreachable', 10000, d => !d.reachable);
        const r = await run(['openssl', 'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
            '-nodes', '-days', '30', '-subj', `/CN=${idB}`, '-keyout', `${b.configDir}/private.pem`, '-out', `${b.configDir}/certificate.pem`]);
        expect(r.status).toBe(0);
        await b.serve();
        await serveA.waitForLine(new RegExp(`REFUSED ${idB}: .*certificate other than the paired one`), 15000);
        await sleep(1000);
        const beta = (await devices(a)).find(d => d.id === idB);
        expect(beta).toEqual(jasmine.objectContaining({paired: true, reachable: false}));
    });

    it('speak protocol 7 with a peer forced to 7, pair without timestamp, and unpair', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp();
        await a.serve();
        const serveB = await b.serve(['--protocol', '7']);
        const beta = await waitDevice(a, 'Beta', 'reachable', 10000, d => d.reachable);
        expect(beta.protocolVersion).toBe(7);
        const {keyA, keyB} = await pairBoth(a, b);
        expect(keyA).toBe(keyB);
        await waitDevice(b, 'Alpha', 'paired', 5000, d => d.paired);
        const un = await a.cli(['unpair', 'Beta']);
        expect(un.status).withContext(un.stderr).toBe(0);
        await serveB.waitForLine(/unpaired Alpha/);
        expect((await devices(b)).find(d => d.name === 'Alpha')?.paired).toBeFalse();
        expect((await devices(a)).find(d => d.name === 'Beta')?.paired).toBeFalse();
    });

    it('report a rejected pairing request with its own exit status', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp();
        await a.serve();
        await b.serve();
        await waitDevice(a, 'Beta', 'reachable', 10000, d => d.reachable);
        const requesting = a.cli(['pair', 'Beta']);
        await waitDevice(b, 'Alpha', 'asking to pair', 10000, d => d.pairState === 'requestedByPeer');
        const reject = await b.cli(['unpair', 'Alpha']);
        expect(reject.status).withContext(reject.stderr).toBe(0);
        const r = await requesting;
        expect(r.status).toBe(4);
        expect(r.stderr).toMatch(/pairing rejected/);
        expect((await devices(a)).find(d => d.name === 'Beta')?.paired).toBeFalse();
    });

    it('time a pairing request out after 30 s on both sides when nobody answers', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp();
        await a.serve();
        const serveB = await b.serve();
        await waitDevice(a, 'Beta', 'reachable', 10000, d => d.reachable);
        const started = Date.now();
        const r = await a.cli(['pair', 'Beta']);
        expect(r.status).toBe(4);
        expect(r.stderr).toMatch(/pairing timeout: the pairing request timed out/);
        expect(Date.now() - started).toBeGreaterThanOrEqual(29000);
        await serveB.waitForLine(/pairing with Alpha \(\w+\) (timeout|cancelled)/);
        expect((await devices(b)).find(d => d.name === 'Alpha')?.pairState).toBe('unpaired');
        expect((await devices(a)).find(d => d.name === 'Beta')?.paired).toBeFalse();
    });

    it('find a peer by unicast (--to) where broadcast does not pass', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp(false);
        await a.serve();
        await b.serve();
        await sleep(2000);
        expect(await devices(a)).toEqual([]);
        await b.stopServe();
        const serveB = await b.serve(['--to', hosts!.ipA]);
        await serveB.waitForLine(/connected Alpha/);
        await waitDevice(a, 'Beta', 'reachable', 5000, d => d.reachable);
    });
});
