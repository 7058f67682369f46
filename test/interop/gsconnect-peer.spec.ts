// Ferry against GSConnect's real service as a peer: GSConnect 54 (Debian 12, protocol 7), 62
// (Debian 13 root) and 74 (Debian unstable root), protocol 8: discovery, pairing, files both ways.
import GLib from 'gi://GLib';
import {FerryNode, HostPair} from '../lib/netns.js';
import {requirePrerequisite, waitDevice} from '../lib/ferry.js';
import {GSConnectPeer, Session} from '../lib/gsconnect.js';
import {GSCONNECT_KINDS} from '../lib/peers.js';
import {check, isRoot, run, sha256, waitFor} from '../lib/proc.js';

for (const kind of GSCONNECT_KINDS) {
    describe(`interoperability with ${kind.label}`, () => {
        let hosts: HostPair;
        let ferry: FerryNode;
        let session: Session;
        let gsc: GSConnectPeer;
        let recv = '', ferryId = '';
        const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;
        const missing = () => !isRoot() ? 'root (network namespaces)' : kind.missing();
        const prerequisites = () => requirePrerequisite(missing());

        beforeAll(async () => {
            jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
            if (missing())
                return;
            hosts = await HostPair.create();
            ferry = new FerryNode(hosts.nsA, 'Ferry');
            recv = `${ferry.home}/received`;
            ferryId = (await ferry.json<{id: string}>(['id'])).id;
            await ferry.serve(['--receive-dir', recv]);
            session = new Session(hosts.nsB, GLib.dir_make_tmp('ferry-gsc-peer-XXXXXX') ?? '', kind.root());
            await session.start();
            gsc = new GSConnectPeer(session, 'Desk');
            await gsc.start();
        }, 300000);

        afterAll(async () => {
            jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
            await gsc?.stop();
            await session?.stop();
            await ferry?.destroy();
            await hosts?.destroy();
            if (session)
                await run(['rm', '-rf', session.home]);
            if (session?.root)
                await run(['rmdir', `${session.root}${session.home}`]);
        });

        it('discovers GSConnect and pairs with it', async () => {
            if (!prerequisites())
                return;
            const d = await waitFor('Ferry and GSConnect to see each other', 30000, async () => {
                const found = (await ferry.json<{id: string; reachable: boolean; protocolVersion: number}[]>(['devices']))
                    .find(x => x.id === gsc.id && x.reachable);
                if (!found)
                    await gsc.refresh();
                return found && await gsc.deviceProperty(ferryId, 'Connected') ? found : undefined;
            });
            expect(d.protocolVersion).toBe(kind.protocol);
            const requesting = ferry.cli(['pair', 'Desk']);
            // GSConnect accepts a pending request when its 'pair' action is activated
            const waiting = await waitDevice(ferry, 'Desk', 'waiting for the answer', 10000, x => x.pairState === 'requested');
            // GSConnect forgets the request's timestamp once paired: compare keys while it is pending
            const gscKey = kind.protocol >= 8 ? await waitFor('GSConnect to show the key', 10000, async () =>
                await gsc.verificationKey(ferryId) || undefined) : '';
            await gsc.pair(ferryId);
            const r = await requesting;
            expect(r.status).withContext(r.stderr + gsc.log.slice(-2000)).toBe(0);
            await waitFor('GSConnect to trust Ferry', 10000, async () => await gsc.deviceProperty(ferryId, 'Paired') || undefined);
            if (kind.protocol >= 8) {
                expect(/Verification key: (\S+)/.exec(r.stdout)?.[1]).toBe(waiting.verificationKey);
                expect(gscKey).toBe(waiting.verificationKey);
            }
        });

        it('sends GSConnect a file byte-exact and receives one from it', async () => {
            if (!prerequisites())
                return;
            const src = `${session.home}/out`;
            await check(['mkdir', '-p', src]);
            await check(['sh', '-c', `head -c 2500000 /dev/urandom > '${src}/to desk ł.bin' && head -c 1500000 /dev/urandom > '${src}/to ferry.bin'`]);
            const sent = await ferry.cli(['send', 'Desk', `${src}/to desk ł.bin`]);
            expect(sent.status).withContext(sent.stderr).toBe(0);
            // GSConnect writes straight to the final name: compare once the size is complete
            const target = `${gsc.downloads}/to desk ł.bin`;
            await waitFor('the file at GSConnect', 30000, async () =>
                GLib.file_test(target, GLib.FileTest.EXISTS) && await sha256(target) === await sha256(`${src}/to desk ł.bin`) || undefined);

            await gsc.shareFile(ferryId, `${src}/to ferry.bin`);
            // GSConnect keeps the payload connection open: Ferry completes at the announced size
            const got = await waitFor('the file from GSConnect', 30000, () =>
                GLib.file_test(`${recv}/to ferry.bin`, GLib.FileTest.EXISTS) ? `${recv}/to ferry.bin` : undefined);
            expect(await sha256(got)).toBe(await sha256(`${src}/to ferry.bin`));
        });

        it('sends GSConnect a batch (empty file, spaces, Polish) and a 100 MiB file, and gets 100 MiB, three files and text from it', async () => {
            if (!prerequisites())
                return;
            const src = `${session.home}/out`;
            const names = ['empty.txt', 'z odstępami ąę.txt', 'big 100MiB.bin'];
            const sizes = [0, 54321, 100 * 1024 * 1024];
            for (const [i, n] of names.entries())
                await check(['sh', '-c', `head -c ${sizes[i]} /dev/urandom > '${src}/${n}'`]);
            await check(['sh', '-c', `head -c 104857600 /dev/urandom > '${src}/big to ferry.bin'`]);
            const sent = await ferry.cli(['send', 'Desk', ...names.map(n => `${src}/${n}`)]);
            expect(sent.status).withContext(sent.stderr).toBe(0);
            for (const n of names) {
                const target = `${gsc.downloads}/${n}`;
                await waitFor(`${n} at GSConnect`, 60000, async () =>
                    GLib.file_test(target, GLib.FileTest.EXISTS) && await sha256(target) === await sha256(`${src}/${n}`) || undefined);
            }
            await gsc.shareFile(ferryId, `${src}/big to ferry.bin`);
            const got = await waitFor('the big file from GSConnect', 60000, () =>
                GLib.file_test(`${recv}/big to ferry.bin`, GLib.FileTest.EXISTS) ? `${recv}/big to ferry.bin` : undefined);
            expect(await sha256(got)).toBe(await sha256(`${src}/big to ferry.bin`));
            // GSConnect sends several files as separate shares, one after the other
            const back = ['z gsconnect ąę.txt', 'pusty.txt', 'photo 3.jpg'];
            const backSizes = [4321, 0, 700000];
            for (const [i, n] of back.entries())
                await check(['sh', '-c', `head -c ${backSizes[i]} /dev/urandom > '${src}/${n}'`]);
            for (const n of back)
                await gsc.shareFile(ferryId, `${src}/${n}`);
            for (const n of back) {
                const path = await waitFor(`${n} from GSConnect`, 30000, () =>
                    GLib.file_test(`${recv}/${n}`, GLib.FileTest.EXISTS) ? `${recv}/${n}` : undefined);
                expect(await sha256(path)).withContext(n).toBe(await sha256(`${src}/${n}`));
            }
            await gsc.shareText(ferryId, 'Cześć from GSConnect');
            await ferry.serveProc!.waitForLine(/text from Desk: Cześć from GSConnect/, 10000);
        });

        it('sends GSConnect text, and GSConnect receives it (its own packet log)', async () => {
            if (!prerequisites())
                return;
            const text = 'Zażółć gęślą jaźń from Ferry';
            const r = await ferry.cli(['send-text', 'Desk', text]);
            expect(r.status).withContext(r.stderr).toBe(0);
            // GSConnect puts the text in a dialog on its display; with debug on it logs the packet first
            await waitFor('GSConnect to log the text share', 10000, () =>
                /"type": "kdeconnect\.share\.request"/.test(gsc.log) && gsc.log.includes(`"text": "${text}"`) || undefined)
                .catch(e => {
                    throw new Error(`${e}\n${gsc.log.split('\n').slice(-30).join('\n')}`);
                });
        });

        it('unpairs, then pairs again at GSConnect\'s request', async () => {
            if (!prerequisites())
                return;
            const un = await ferry.cli(['unpair', 'Desk']);
            expect(un.status).withContext(un.stderr).toBe(0);
            await waitFor('GSConnect to forget Ferry', 10000, async () => await gsc.deviceProperty(ferryId, 'Paired') ? undefined : true);
            await waitFor('GSConnect to reach Ferry', 15000, async () => await gsc.deviceProperty(ferryId, 'Connected') || undefined);
            await gsc.pair(ferryId);
            const asking = await waitDevice(ferry, 'Desk', 'asking to pair', 15000, x => x.pairState === 'requestedByPeer');
            if (kind.protocol >= 8)
                expect(await gsc.verificationKey(ferryId)).toBe(asking.verificationKey);
            const r = await ferry.cli(['pair', 'Desk']);
            expect(r.status).withContext(r.stderr).toBe(0);
            await waitFor('GSConnect to trust Ferry again', 10000, async () => await gsc.deviceProperty(ferryId, 'Paired') || undefined);
        });
    });
}
