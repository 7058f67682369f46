// Ferry and kdeconnectd 25.04 / 26.08 (their own multicast DNS responders) where broadcasts are
// dropped by an nftables rule in both namespaces: each finds the other by multicast DNS alone,
// they pair, and a file goes each way; with multicast dropped as well, Ferry's address list
// still reaches kdeconnectd. 22.12 has no multicast DNS and is left out.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {requirePrerequisite, waitDevice} from '../lib/ferry.js';
import {KdePeer} from '../lib/kdeconnect.js';
import {KDE_KINDS, PeerKind, atLeast} from '../lib/peers.js';
import {check, isRoot, sha256, sleep, waitFor} from '../lib/proc.js';

for (const kind of KDE_KINDS.filter(k => atLeast(k, 25, 4)))
    describeKind(kind);

function describeKind(kind: PeerKind): void {
    const prerequisites = () => requirePrerequisite(!isRoot() ? 'root (network namespaces)' : kind.missing());

    describe(`multicast DNS with ${kind.label}, broadcasts dropped`, () => {
        let hosts: HostPair;
        let ferry: FerryNode;
        let kde: KdePeer;
        let recv = '', ferryId = '';
        const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;

        beforeAll(async () => {
            jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
            if (!isRoot() || kind.missing())
                return;
            hosts = await HostPair.create();
            await hosts.block('broadcast');
            ferry = new FerryNode(hosts.nsA, 'Ferry');
            recv = `${ferry.home}/received`;
            ferryId = (await ferry.json<{id: string}>(['id'])).id;
            // Ferry first, and quiet (its second announcement is 3 s after its start) when kdeconnectd
            // starts: kdeconnectd asks by multicast DNS only when it starts, and only its asking can find Ferry
            await ferry.serve(['--receive-dir', recv]);
            await sleep(4000);
            kde = await KdePeer.start(hosts.nsB, 'Plasma', kind.root());
        }, 300000);

        afterAll(async () => {
            jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
            await kde?.destroy();
            await ferry?.destroy();
            await hosts?.destroy();
        });

        const ferryLog = () => ferry.serveProc?.output.split('\n').filter(l => /multicast|discovered|connected/.test(l)).join('\n');
        const kdeLog = () => kde.log.split('\n').filter(l => /mdns|discover/i.test(l)).slice(-20).join('\n');

        it('is found by kdeconnectd, which asks by multicast DNS, and they link', async () => {
            if (!prerequisites())
                return;
            // kdeconnectd logs what its multicast DNS found (its answer from Ferry, to its question at start).
            // Who links first then varies: Ferry may hear kdeconnectd's answer to its own question too.
            await waitFor('kdeconnectd to find Ferry by multicast DNS', 20000,
                () => kde.log.includes(`Discovered "${ferryId}" at`) || undefined).catch(e => {
                throw new Error(`${e}\nferry: ${ferryLog()}\nkde: ${kdeLog()}`);
            });
            // (Ferry may hear kdeconnectd's answer to its own question too, and link from its side meanwhile:
            // the links flap for a few seconds, quirk 18 of docs/interop.md)
            const d = await waitDevice(ferry, 'Plasma', 'reachable', 30000, x => x.reachable).catch(e => {
                throw new Error(`${e}\nferry: ${ferryLog()}\nkde: ${kdeLog()}`);
            });
            expect(d.id).toBe(kde.id);
            await waitFor('kdeconnectd to see Ferry', 15000, async () => await kde.deviceProperty(ferryId, 'isReachable') || undefined);
        });

        it('finds kdeconnectd by multicast DNS when Ferry starts', async () => {
            if (!prerequisites())
                return;
            await ferry.stopServe();
            await ferry.serve(['--receive-dir', recv]);
            await waitFor('Ferry to find kdeconnectd', 20000, () => ferry.serveProc?.output.includes(`multicast DNS found ${kde.id}`) || undefined)
                .catch(e => {
                    throw new Error(`${e}\nferry: ${ferryLog()}\nkde: ${kdeLog()}`);
                });
            const d = await waitDevice(ferry, 'Plasma', 'reachable', 15000, x => x.reachable);
            expect(d.discoveredBy).toBe('mdns');
        });

        it('pairs and moves a file each way', async () => {
            if (!prerequisites())
                return;
            const requesting = ferry.cli(['pair', 'Plasma']);
            await waitFor('kdeconnectd to see the request', 15000, async () => await kde.hasPairingRequest(ferryId) || undefined);
            await kde.deviceCall(ferryId, 'acceptPairing');
            const r = await requesting;
            expect(r.status).withContext(r.stderr).toBe(0);
            const out = `${ferry.home}/to plasma.bin`;
            await check(['sh', '-c', `head -c 200000 /dev/urandom > '${out}'`]);
            const sent = await ferry.cli(['send', 'Plasma', out]);
            expect(sent.status).withContext(sent.stderr).toBe(0);
            const there = `${kde.downloads}/to plasma.bin`;
            await waitFor('the file at kdeconnectd', 15000, () => GLib.file_test(there, GLib.FileTest.EXISTS) || undefined);
            await sleep(500);
            expect(await sha256(there)).toBe(await sha256(out));
            const back = `${kde.home}/to ferry.bin`;
            await check(['sh', '-c', `head -c 150000 /dev/urandom > '${back}'`]);
            await kde.shareUrls(ferryId, [back]);
            const here = `${recv}/to ferry.bin`;
            await waitFor('the file at Ferry', 15000, () => GLib.file_test(here, GLib.FileTest.EXISTS) || undefined);
            expect(await sha256(here)).toBe(await sha256(back));
        });

        it('still reaches kdeconnectd by the address list when multicast is dropped too', async () => {
            if (!prerequisites())
                return;
            await ferry.stopServe();
            await hosts.block('multicast');
            GLib.file_set_contents(`${ferry.configDir}/config.json`, new TextEncoder().encode(JSON.stringify({hosts: [hosts.ipB]})));
            try {
                await ferry.serve(['--receive-dir', recv]);
                const d = await waitDevice(ferry, 'Plasma', 'reachable', 20000, x => x.reachable);
                expect(d.discoveredBy).toBe('address');
                expect(ferry.serveProc?.output).not.toContain(`multicast DNS found ${kde.id}`);
            } finally {
                GLib.file_set_contents(`${ferry.configDir}/config.json`, new TextEncoder().encode('{}'));
            }
        });
    });
}


