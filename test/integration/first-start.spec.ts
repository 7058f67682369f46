// A first start in a fresh home, as a first login makes it: the engine and several `ferry`
// commands at the same moment. Every home must end with one identity whose key belongs to its
// certificate (checked with openssl, not with Ferry's own reader), and such engines must work.
// A broken pair must be an error that names its repair, and the repair must work.
import GLib from 'gi://GLib';
import {pairBoth, requireRoot, waitDevice} from '../lib/ferry.js';
import {FerryNode, HostPair} from '../lib/netns.js';
import {check, isRoot, run, sha256, waitFor} from '../lib/proc.js';

const HOMES = 10;

/** The public key of the certificate and of the private key, as openssl prints them. */
async function publicKeys(dir: string): Promise<{cert: string; key: string}> {
    const cert = await check(['openssl', 'x509', '-in', `${dir}/certificate.pem`, '-pubkey', '-noout']);
    const key = await check(['openssl', 'pkey', '-in', `${dir}/private.pem`, '-pubout']);
    return {cert, key};
}

describe('a first start with several Ferry processes at once', () => {
    let hosts: HostPair;
    const nodes: FerryNode[] = [];
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 180000;
        if (isRoot())
            hosts = await HostPair.create();
    });

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        for (const n of nodes)
            await n.destroy();
        await hosts?.destroy();
    });

    it(`ends with one matching identity in each of ${HOMES} fresh homes, and two of them pair and send a file`, async () => {
        if (!requireRoot(isRoot()))
            return;
        for (let i = 0; i < HOMES; i++)
            nodes.push(new FerryNode(i % 2 ? hosts.nsB : hosts.nsA, `First${i}`));
        await Promise.all(nodes.map(n => n.startBus()));
        // in every home at the same moment: the engine, `ferry id` twice and `ferry devices`
        const results = await Promise.all(nodes.map(async n => {
            const [, id, idJson, devices] = await Promise.all([
                n.serve(['--identity', 'ferry']),
                n.cli(['id', '--identity', 'ferry']),
                n.cli(['id', '--identity', 'ferry', '--json']),
                n.cli(['devices', '--identity', 'ferry', '--wait', '0']),
            ]);
            return {id, idJson, devices};
        }));
        const ids = new Set<string>();
        for (const [i, n] of nodes.entries()) {
            const {id, idJson, devices} = results[i];
            for (const r of [id, idJson, devices])
                expect(r.status).withContext(`home ${i}: ${r.stderr}`).toBe(0);
            expect(n.serveProc!.output).toMatch(/state running/);
            const keys = await publicKeys(n.configDir);
            expect(keys.key).withContext(`home ${i}: the key belongs to the certificate`).toBe(keys.cert);
            // everyone saw the same identity, and nothing was left of its making
            const shown = (JSON.parse(idJson.stdout) as {id: string}).id;
            expect(id.stdout).toContain(shown);
            expect(n.serveProc!.output).toContain(`identity ${shown} (ferry)`);
            ids.add(shown);
            const left = (await check(['ls', '-A', n.configDir])).split('\n').filter(f => f && !/^(certificate|private)\.pem$|^devices.*\.json$/.test(f));
            expect(left).withContext(`home ${i}`).toEqual([]);
        }
        expect(ids.size).toBe(HOMES);

        // two of them, in different namespaces, pair and move a file over TLS
        for (const n of nodes.slice(2))
            await n.stopServe();
        const [a, b] = nodes;
        await waitDevice(a, b.name, 'reachable', 15000, d => d.reachable);
        await pairBoth(a, b);
        const file = `${a.home}/first.bin`;
        await check(['sh', '-c', `head -c 123457 /dev/urandom > '${file}'`]);
        const sent = await a.cli(['send', b.name, file]);
        expect(sent.status).withContext(sent.stderr).toBe(0);
        const got = `${b.home}/Downloads/first.bin`;
        await waitFor('the file', 10000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined);
        expect(await sha256(got)).toBe(await sha256(file));
    });

    it('refuses a key that is not its certificate\'s with a message naming the repair, and `ferry id --reset` repairs it', async () => {
        if (!requireRoot(isRoot()))
            return;
        const n = new FerryNode(hosts.nsA, 'Broken');
        nodes.push(n);
        const first = await n.json<{id: string}>(['id', '--identity', 'ferry']);
        // another key under the same certificate: what the race used to leave behind
        await check(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${n.configDir}/private.pem`]);
        await check(['sh', '-c', `echo '{"version":1,"devices":{},"revoked":{}}' > '${n.configDir}/devices.json'`]);
        const broken = await n.cli(['id', '--identity', 'ferry']);
        expect(broken.status).not.toBe(0);
        expect(broken.stderr).toContain('is not the private key of');
        expect(broken.stderr).toContain('ferry id --reset');
        const serve = await n.serve(['--identity', 'ferry']);
        expect(serve.output).toMatch(/state failed: .*ferry id --reset/);
        await n.stopServe();

        const reset = await n.cli(['id', '--identity', 'ferry', '--reset']);
        expect(reset.status).withContext(reset.stderr).toBe(0);
        expect(reset.stdout).toMatch(/moved aside: .*certificate\.pem\.old-/);
        expect(reset.stdout).toMatch(/moved aside: .*devices\.json\.old-/);
        const fresh = await n.json<{id: string}>(['id', '--identity', 'ferry']);
        expect(fresh.id).not.toBe(first.id);
        const keys = await publicKeys(n.configDir);
        expect(keys.key).toBe(keys.cert);
        // the old files are kept, renamed, for whoever wants to look at them
        const kept = (await run(['ls', n.configDir])).stdout;
        expect(kept).toMatch(/private\.pem\.old-/);
    });
});
