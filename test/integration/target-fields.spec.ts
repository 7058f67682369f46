// The target fields of KDE Connect 26.04+ identities, against a raw peer speaking the protocol
// by hand (test/integration/target_fields.py): the side that opens a link says whom it means
// (targetDeviceId, targetProtocolVersion; Android sends the version as a string), and the other
// side drops a link meant for someone else. Ferry as the side that is reached, and as the opener.
import {requireRoot} from '../lib/ferry.js';
import {FerryNode, HostPair} from '../lib/netns.js';
import {ROOT, isRoot, run} from '../lib/proc.js';

const SCRIPT = `${ROOT}/test/integration/target_fields.py`;
const RAW_ID = 'aaaabbbbccccddddeeeeffff00001111';

describe('the target fields of an identity', () => {
    let hosts: HostPair;
    let ferry: FerryNode;
    let ferryId = '', port = 0;

    beforeAll(async () => {
        if (!isRoot())
            return;
        hosts = await HostPair.create();
        ferry = new FerryNode(hosts.nsA, 'Ferry');
        ferryId = (await ferry.json<{id: string}>(['id'])).id;
        await ferry.serve();
        port = (await ferry.json<{tcpPort: number}>(['id'])).tcpPort;
    }, 60000);

    afterAll(async () => {
        await ferry?.destroy();
        await hosts?.destroy();
    });

    const open = async (target: string, version: string) => {
        const r = await run(['ip', 'netns', 'exec', hosts.nsB, 'python3', SCRIPT, 'open', hosts.ipA, String(port), RAW_ID, target, version]);
        expect(r.status).withContext(r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as {result: string}).result;
    };

    it('goes on to TLS for a link meant for it (the version as a number, as a string, or not said)', async () => {
        if (!requireRoot(isRoot()))
            return;
        expect(await open(ferryId, '8')).toBe('hello');
        expect(await open(ferryId, '"8"')).toBe('hello');
        expect(await open('', 'null')).toBe('hello');
    });

    it('drops a link meant for another device or another protocol version, and says why', async () => {
        if (!requireRoot(isRoot()))
            return;
        expect(await open('0123456789abcdef0123456789abcdef', '8')).toBe('closed');
        await ferry.serveProc!.waitForLine(/is addressed to 0123456789abcdef0123456789abcdef, not to us/, 5000);
        expect(await open(ferryId, '7')).toBe('closed');
        await ferry.serveProc!.waitForLine(/expects protocol 7, we speak 8/, 5000);
    });

    it('says whom it means when it opens a link itself', async () => {
        if (!requireRoot(isRoot()))
            return;
        const r = await run(['ip', 'netns', 'exec', hosts.nsB, 'python3', SCRIPT, 'answer', hosts.ipA, RAW_ID, '1760']);
        expect(r.status).withContext(r.stderr).toBe(0);
        const body = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(body).toEqual(jasmine.objectContaining({deviceId: ferryId, targetDeviceId: RAW_ID, targetProtocolVersion: 8,
            protocolVersion: 8}));
        expect(body.incomingCapabilities).toEqual(jasmine.arrayContaining(['kdeconnect.share.request', 'kdeconnect.share.request.update']));
    });
});
