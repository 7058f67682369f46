// Discovery where broadcasts do not pass: two Ferry engines in namespaces whose nftables rules
// drop every datagram to the limited and the subnet broadcast (and, in the second case, all
// multicast), as filtering Wi-Fi networks do. Multicast DNS finds the peer; the address list
// (`--to`) still does when multicast is dropped too. Each case first shows that the rule holds.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {ROOT, check, isRoot, run, sha256, sleep} from '../lib/proc.js';
import {devices, pairBoth, requireRoot as needRoot, waitDevice} from '../lib/ferry.js';

const requireRoot = () => needRoot(isRoot());

function writeConfig(node: FerryNode, config: object): void {
    GLib.mkdir_with_parents(node.configDir, 0o700);
    GLib.file_set_contents(`${node.configDir}/config.json`, new TextEncoder().encode(JSON.stringify(config)));
}

describe('discovery without broadcasts', () => {
    let hosts: HostPair | null = null;
    let nodes: FerryNode[] = [];
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

    beforeAll(() => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 90000;
    });
    afterAll(() => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
    });
    afterEach(async () => {
        for (const n of nodes)
            await n.destroy();
        nodes = [];
        await hosts?.destroy();
        hosts = null;
    });

    async function setUp(block: ('broadcast' | 'multicast')[]): Promise<[FerryNode, FerryNode]> {
        hosts = await HostPair.create();
        for (const what of block)
            await hosts.block(what);
        const a = new FerryNode(hosts.nsA, 'Alpha'), b = new FerryNode(hosts.nsB, 'Beta');
        nodes = [a, b];
        return [a, b];
    }

    it('finds the peer by multicast DNS, pairs and sends a file, and says how it was found', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp(['broadcast']);
        // the rule holds: with multicast DNS off, broadcasts alone find nothing
        for (const n of [a, b])
            writeConfig(n, {mdns: false});
        await a.serve();
        await b.serve();
        await sleep(4000);
        expect(await devices(a)).toEqual([]);
        expect(await devices(b)).toEqual([]);
        await a.stopServe();
        await b.stopServe();
        for (const n of [a, b])
            writeConfig(n, {});
        await a.serve();
        await b.serve(['--receive-dir', `${b.home}/received`]);
        await waitDevice(a, 'Beta', 'reachable', 20000, d => d.reachable);
        await waitDevice(b, 'Alpha', 'reachable', 5000, d => d.reachable);
        const how = [...await devices(a), ...await devices(b)].map(d => d.discoveredBy);
        expect(how).toContain('mdns');
        expect(`${a.serveProc?.output}${b.serveProc?.output}`).toMatch(/multicast DNS found \w+ at 10\.213\./);
        await pairBoth(a, b);
        const file = `${a.home}/found by mdns.bin`;
        await check(['sh', '-c', `head -c 300000 /dev/urandom > '${file}'`]);
        const r = await a.cli(['send', 'Beta', file]);
        expect(r.status).withContext(r.stderr).toBe(0);
        const got = `${b.home}/received/found by mdns.bin`;
        expect(await sha256(got)).toBe(await sha256(file));
    });

    it('withdraws its announcement when it stops: its records again, with TTL 0', async () => {
        if (!requireRoot())
            return;
        const [a] = await setUp(['broadcast']);
        const id = (await a.json<{id: string}>(['id'])).id;
        await a.serve();
        const listening = run(['ip', 'netns', 'exec', hosts!.nsB, '/usr/bin/python3', `${ROOT}/test/integration/mdns_listen.py`, '5']);
        // its second announcement (3 s after its start) and then, on SIGTERM, the goodbye
        await sleep(3500);
        await a.stopServe();
        const r = await listening;
        expect(r.status).withContext(r.stderr).toBe(0);
        const heard = JSON.parse(r.stdout) as [string, string, number][];
        const ours = heard.filter(([name, instance]) => name === '_kdeconnect._udp.local' && instance === `${id}._kdeconnect._udp.local`);
        expect(ours.map(([, , ttl]) => ttl)).toContain(120);
        expect(ours[ours.length - 1]?.[2]).toBe(0);
    });

    it('connects by the address list in config.json where multicast is dropped as well', async () => {
        if (!requireRoot())
            return;
        const [a, b] = await setUp(['broadcast', 'multicast']);
        await a.serve();
        await b.serve();
        await sleep(4000);
        expect(await devices(a)).toEqual([]);
        await b.stopServe();
        // a name that does not resolve is logged and skipped; the address next to it is used
        writeConfig(b, {hosts: ['no-such-host.invalid', hosts!.ipA]});
        await b.serve();
        await waitDevice(b, 'Alpha', 'reachable', 15000, d => d.reachable);
        const alpha = (await devices(b)).find(d => d.name === 'Alpha');
        expect(alpha?.discoveredBy).toBe('address');
        expect(`${a.serveProc?.output}${b.serveProc?.output}`).not.toMatch(/multicast DNS found/);
        expect(b.serveProc?.output).toMatch(/device address no-such-host\.invalid: cannot resolve/);
    });
});


