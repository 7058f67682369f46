// The seed's whole point: a user paired a device with GSConnect once; Ferry, started on the same
// HOME with GSConnect's identity, exchanges files with that device without any new pairing, and
// steps aside while GSConnect runs. Real GSConnect service, real kdeconnectd, two namespaces:
// GSConnect 54 with kdeconnectd 22.12 (Debian 12), and GSConnect 74 with kdeconnectd 26.08
// (Debian unstable), where Ferry must still find what GSConnect 74 stores, where it stores it.
import GLib from 'gi://GLib';
import {HostPair} from '../lib/netns.js';
import {GSConnectPeer, Session} from '../lib/gsconnect.js';
import {KdePeer} from '../lib/kdeconnect.js';
import {GSCONNECT_KINDS, KDE_KINDS, PeerKind} from '../lib/peers.js';
import {Background, FERRY, check, isRoot, run, sha256, waitFor} from '../lib/proc.js';
import {requirePrerequisite} from '../lib/ferry.js';

interface Dev {id: string; name: string; paired: boolean; reachable: boolean; trustedBy: string}

const PAIRS: [PeerKind, PeerKind][] = [[GSCONNECT_KINDS[0], KDE_KINDS[0]], [GSCONNECT_KINDS[2], KDE_KINDS[2]]];

for (const [gscKind, kdeKind] of PAIRS)
    describeTakeover(gscKind, kdeKind);

function describeTakeover(gscKind: PeerKind, kdeKind: PeerKind): void {
const missing = () => !isRoot() ? 'root (network namespaces)' : gscKind.missing() ?? kdeKind.missing();
const prerequisites = () => requirePrerequisite(missing());

describe(`reusing the identity and pairing of ${gscKind.label} (paired with ${kdeKind.label})`, () => {
    let hosts: HostPair;
    let session: Session;
    let gsconnect: GSConnectPeer;
    let kde: KdePeer;
    let ferry: Background | null = null;
    let home = '', recv = '';
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

    const ferryCli = (args: string[]) => run(session.exec([FERRY, '--identity', 'gsconnect', ...args]), session.env);
    const ferryDevices = async (): Promise<Dev[]> => JSON.parse((await ferryCli(['devices', '--json'])).stdout) as Dev[];

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 150000;
        if (missing())
            return;
        hosts = await HostPair.create();
        home = GLib.dir_make_tmp('ferry-gsc-home-XXXXXX') ?? '';
        recv = `${home}/received`;
        session = new Session(hosts.nsA, home, gscKind.root());
        await session.start();
        gsconnect = new GSConnectPeer(session, 'Desk');
        kde = await KdePeer.start(hosts.nsB, 'Plasma', kdeKind.root());
    }, 300000);

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        await ferry?.stop();
        await gsconnect?.stop();
        await session?.stop();
        await kde?.destroy();
        await hosts?.destroy();
        if (home)
            await run(['rm', '-rf', home]);
        if (home && gscKind.root())
            await run(['rmdir', `${gscKind.root()}${home}`]);
    });

    it('GSConnect pairs with kdeconnectd (the user\'s past)', async () => {
        if (!prerequisites())
            return;
        await gsconnect.start();
        await waitFor('GSConnect and kdeconnectd to see each other', 30000, async () => {
            if (!await gsconnect.deviceProperty(kde.id, 'Connected'))
                await gsconnect.refresh();
            return await gsconnect.deviceProperty(kde.id, 'Connected') && await kde.deviceProperty(gsconnect.id, 'isReachable') || undefined;
        });
        await gsconnect.pair(kde.id);
        await waitFor('kdeconnectd to see the request', 15000, async () => await kde.hasPairingRequest(gsconnect.id) || undefined);
        await kde.deviceCall(gsconnect.id, 'acceptPairing');
        await waitFor('both paired', 15000, async () =>
            await gsconnect.deviceProperty(kde.id, 'Paired') && await kde.isPaired(gsconnect.id) || undefined);
        await gsconnect.stop();
    });

    it('Ferry takes over GSConnect\'s identity and pairing and exchanges files both ways without pairing again', async () => {
        if (!prerequisites())
            return;
        const id = JSON.parse((await ferryCli(['id', '--json'])).stdout) as {id: string; identitySource: string};
        expect(id).toEqual(jasmine.objectContaining({id: gsconnect.id, identitySource: 'gsconnect'}));
        ferry = new Background(session.exec([FERRY, '--identity', 'gsconnect', 'serve', '--receive-dir', recv]), session.env);
        await ferry.waitForLine(/state running/);
        const plasma = await waitFor('Ferry to reach Plasma, paired', 30000, async () =>
            (await ferryDevices()).find(d => d.id === kde.id && d.reachable && d.paired));
        expect(plasma.trustedBy).toBe('gsconnect');
        expect(ferry.output).not.toMatch(/pairing request/);

        const src = `${home}/src`;
        await check(['mkdir', '-p', src]);
        // what kdeconnectd shares must be in its HOME (the one folder a root file system's peer sees)
        const out = `${kde.home}/out`;
        await check(['mkdir', '-p', out]);
        await check(['sh', '-c', `head -c 4000000 /dev/urandom > '${src}/to plasma.bin' && head -c 3000000 /dev/urandom > '${out}/to ferry.bin'`]);
        const sent = await ferryCli(['send', 'Plasma', `${src}/to plasma.bin`]);
        expect(sent.status).withContext(sent.stderr).toBe(0);
        const got = await kde.waitForDownload('to plasma.bin');
        expect(await sha256(got)).toBe(await sha256(`${src}/to plasma.bin`));

        const r = await kde.cli('-d', gsconnect.id, '--share', `${out}/to ferry.bin`);
        expect(r.status).withContext(r.stderr).toBe(0);
        const received = await waitFor('the file from Plasma', 30000, () =>
            GLib.file_test(`${recv}/to ferry.bin`, GLib.FileTest.EXISTS) ? `${recv}/to ferry.bin` : undefined);
        expect(await sha256(received)).toBe(await sha256(`${out}/to ferry.bin`));
        // still GSConnect's pairing: nothing was paired anew by either side
        expect(ferry.output).not.toMatch(/paired with Plasma/);
    });

    it('steps aside while GSConnect runs again, and says so', async () => {
        if (!prerequisites())
            return;
        await gsconnect.start();
        await ferry!.waitForLine(/state deferred: GSConnect is running/, 15000);
        const id = JSON.parse((await ferryCli(['id', '--json'])).stdout) as {state: string};
        expect(id.state).toBe('deferred');
        await gsconnect.stop();
        await waitFor('Ferry to take over again', 15000, () =>
            ferry!.lines.filter(l => /state running/.test(l)).length >= 2 || undefined);
    });
});
}
