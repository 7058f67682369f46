// While GSConnect's daemon owns its bus name, Ferry with GSConnect's identity keeps off the
// network and says why; it starts as soon as the name disappears.
import GLib from 'gi://GLib';
import {makeCert} from '../lib/certs.js';
import {FerryNode, HostPair} from '../lib/netns.js';
import {Background, check, isRoot, waitFor} from '../lib/proc.js';

const OWN_NAME = `
imports.gi.versions.Gio = '2.0';
const {Gio, GLib} = imports.gi;
Gio.bus_own_name(Gio.BusType.SESSION, 'org.gnome.Shell.Extensions.GSConnect', Gio.BusNameOwnerFlags.NONE,
    null, () => print('owned'), () => print('lost'));
new GLib.MainLoop(null, false).run();
`;

describe('coexistence with a running GSConnect', () => {
    let hosts: HostPair | null = null;
    let node: FerryNode | null = null;
    let gsconnect: Background | null = null;

    afterEach(async () => {
        await gsconnect?.stop();
        await node?.destroy();
        await hosts?.destroy();
        gsconnect = null;
        node = null;
        hosts = null;
    });

    async function listening(ns: string): Promise<boolean> {
        const out = await check(['ip', 'netns', 'exec', ns, 'ss', '-Hltun']);
        return /:1716\b/.test(out);
    }

    it('steps aside while GSConnect owns its name, then takes over', async () => {
        if (!isRoot()) {
            if (GLib.getenv('CI'))
                fail('needs root');
            else
                pending('needs root for network namespaces');
            return;
        }
        hosts = await HostPair.create();
        node = new FerryNode(hosts.nsA, 'Alpha');
        const cert = await makeCert(`${node.home}/.config/gsconnect`, 'c', 'ec', undefined);
        await check(['mv', cert.cert, `${node.home}/.config/gsconnect/certificate.pem`]);
        await check(['mv', cert.key, `${node.home}/.config/gsconnect/private.pem`]);
        await node.startBus();
        gsconnect = new Background(['ip', 'netns', 'exec', hosts.nsA, 'gjs', '-c', OWN_NAME], node.env);
        await gsconnect.waitForLine(/owned/);

        const serve = await node.serve(['--identity', 'gsconnect']);
        expect(serve.output).toMatch(/state deferred: GSConnect is running/);
        const id = await node.json<{id: string; state: string; stateMessage: string; identitySource: string}>(['id']);
        expect(id).toEqual(jasmine.objectContaining({id: cert.id, identitySource: 'gsconnect', state: 'deferred'}));
        expect(id.stateMessage).toMatch(/GSConnect is running/);
        expect(await listening(hosts.nsA)).toBeFalse();
        const devices = await node.cli(['devices']);
        expect(devices.status).toBe(0);

        await gsconnect.stop();
        gsconnect = null;
        await serve.waitForLine(/state running: listening on TCP 1716/);
        await waitFor('ferry to listen on 1716', 5000, async () => await listening(hosts!.nsA) || undefined);
        expect((await node.json<{state: string}>(['id'])).state).toBe('running');
    });
});
