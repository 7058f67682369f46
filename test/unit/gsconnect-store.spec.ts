// GSConnect's stored identity and pairings, read by the real `ferry` command from fixture
// homes that the tests lay out the way GSConnect 54 (RSA-4096) and 62+ (EC P-256) do.
import GLib from 'gi://GLib';
import {CERT_TIMEOUT, KeyKind, makeCert, readTextFile, tmpDir} from '../lib/certs.js';
import {FERRY, check, have, run} from '../lib/proc.js';

const UUID = 'gsconnect@andyholmes.github.io';
// The schema ids, keys and types GSConnect installs (data/org.gnome.Shell.Extensions.GSConnect.gschema.xml).
const SCHEMA = `<schemalist>
  <schema id="org.gnome.Shell.Extensions.GSConnect" path="/org/gnome/shell/extensions/gsconnect/">
    <key name="name" type="s"><default>""</default></key>
    <key name="devices" type="as"><default>[]</default></key>
  </schema>
  <schema id="org.gnome.Shell.Extensions.GSConnect.Device">
    <key name="certificate-pem" type="s"><default>""</default></key>
    <key name="name" type="s"><default>""</default></key>
    <key name="paired" type="b"><default>false</default></key>
    <key name="type" type="s"><default>"smartphone"</default></key>
  </schema>
  <schema id="org.gnome.Shell.Extensions.GSConnect.Plugin.Share">
    <key name="receive-files" type="b"><default>true</default></key>
    <key name="receive-directory" type="s"><default>""</default></key>
  </schema>
</schemalist>`;

interface Fixture {
    home: string;
    id: string;
    peers: {id: string; pem: string}[];
    env: Record<string, string>;
}

function gvariantString(s: string): string {
    return new GLib.Variant('s', s).print(false) ?? '';
}

/** Settings data as key-file text: group per path (relative to `base`), GVariant text values. */
function settingsText(f: {peers: {id: string; pem: string}[]}, prefix: string): string {
    const lines = [`[${prefix}]`, `devices=${new GLib.Variant('as', [...f.peers.map(p => p.id), 'unpaired0123456789abcdef0123456789']).print(false)}`, ''];
    const rel = (p: string) => prefix === '/' ? p : `${prefix}/${p}`.replace(/^\/+/, '');
    f.peers.forEach((p, i) => {
        lines.push(`[${rel(`device/${p.id}`)}]`, `certificate-pem=${gvariantString(p.pem)}`, `name=${gvariantString(`Phone ${i}`)}`,
            'paired=true', `type=${gvariantString(i === 0 ? 'smartphone' : 'laptop')}`, '');
        if (i === 0)
            lines.push(`[${rel(`device/${p.id}/plugin/share`)}]`, `receive-directory=${gvariantString('/tmp/from-phone')}`, 'receive-files=false', '');
    });
    lines.push(`[${rel('device/unpaired0123456789abcdef0123456789')}]`, 'paired=false', '');
    return lines.join('\n');
}

async function fixture(kind: KeyKind): Promise<Fixture> {
    const home = tmpDir(`gsc-${kind}`);
    const conf = `${home}/.config/gsconnect`;
    const own = await makeCert(conf, 'own', kind, undefined, undefined);
    // GSConnect's file names and subject
    await check(['openssl', 'req', '-x509', '-new', '-key', own.key, '-sha256', '-days', '3650',
        '-subj', `/O=andyholmes.github.io/OU=GSConnect/CN=${own.id}`, '-out', `${conf}/certificate.pem`]);
    await check(['mv', own.key, `${conf}/private.pem`]);
    const peers = [];
    for (const n of [0, 1]) {
        const peer = await makeCert(`${home}/peers`, `p${n}`, 'ec');
        peers.push({id: peer.id, pem: readTextFile(peer.cert)});
    }
    const empty = `${home}/empty-data`;
    GLib.mkdir_with_parents(empty, 0o755);
    return {home, id: own.id, peers, env: {HOME: home, XDG_CONFIG_HOME: `${home}/.config`,
        XDG_DATA_HOME: `${home}/.local/share`, XDG_DATA_DIRS: empty, GSETTINGS_BACKEND: 'keyfile'}};
}

async function installSchema(dir: string): Promise<void> {
    GLib.mkdir_with_parents(dir, 0o755);
    writeFile(`${dir}/org.gnome.Shell.Extensions.GSConnect.gschema.xml`, SCHEMA);
    await check(['glib-compile-schemas', dir]);
}

function writeKeyfile(f: Fixture): void {
    const dir = `${f.home}/.config/glib-2.0/settings`;
    GLib.mkdir_with_parents(dir, 0o700);
    writeFile(`${dir}/keyfile`, settingsText(f, 'org/gnome/shell/extensions/gsconnect'));
}

async function ferryJson<T>(f: Fixture, args: string[], wrap: string[] = []): Promise<T> {
    const r = await run([...wrap, FERRY, '--identity', 'gsconnect', '--config-dir', `${f.home}/.config/ferry`, ...args, '--json'], f.env);
    if (r.status !== 0)
        throw new Error(`ferry ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
}

type Dev = {id: string; name: string; type: string; paired: boolean; reachable: boolean; trustedBy: string};

function expectPeers(f: Fixture, devices: Dev[]): void {
    expect(devices.map(d => d.id).sort()).toEqual(f.peers.map(p => p.id).sort());
    const first = devices.find(d => d.id === f.peers[0].id)!;
    expect(first).toEqual(jasmine.objectContaining({name: 'Phone 0', type: 'phone', paired: true, reachable: false, trustedBy: 'gsconnect'}));
    expect(devices.find(d => d.id === f.peers[1].id)!.type).toBe('laptop');
}

describe('GSConnect identity store', () => {
    const made: string[] = [];
    afterAll(async () => {
        for (const d of made)
            await run(['rm', '-rf', d]);
    });

    it('reads a GSConnect 62 identity (EC P-256) and its pairings through the schema in the user extension folder', async () => {
        const f = await fixture('ec');
        made.push(f.home);
        await installSchema(`${f.home}/.local/share/gnome-shell/extensions/${UUID}/schemas`);
        writeKeyfile(f);
        const id = await ferryJson<{id: string; identitySource: string; gsconnectDevicesFrom: string}>(f, ['id']);
        expect(id.id).toBe(f.id);
        expect(id.identitySource).toBe('gsconnect');
        expect(id.gsconnectDevicesFrom).toContain(`${UUID}/schemas`);
        expectPeers(f, await ferryJson<Dev[]>(f, ['devices', '--wait', '0']));
    });

    it('reads a GSConnect 54 identity (RSA-4096) through a system-wide extension schema', async () => {
        const f = await fixture('rsa4096');
        made.push(f.home);
        const system = `${f.home}/system-share`;
        await installSchema(`${system}/gnome-shell/extensions/${UUID}/schemas`);
        writeKeyfile(f);
        f.env.XDG_DATA_DIRS = system;
        const id = await ferryJson<{id: string; gsconnectDevicesFrom: string}>(f, ['id']);
        expect(id.id).toBe(f.id);
        expect(id.gsconnectDevicesFrom).toContain(system);
        expectPeers(f, await ferryJson<Dev[]>(f, ['devices', '--wait', '0']));
    }, CERT_TIMEOUT);

    it('reads the pairings without any schema from the keyfile settings backend', async () => {
        const f = await fixture('ec');
        made.push(f.home);
        writeKeyfile(f);
        const id = await ferryJson<{gsconnectDevicesFrom: string}>(f, ['id']);
        expect(id.gsconnectDevicesFrom).toMatch(/keyfile .* \(no schema\)/);
        expectPeers(f, await ferryJson<Dev[]>(f, ['devices', '--wait', '0']));
    });

    it('reads the pairings without any schema from dconf', async () => {
        if (!have('dconf') || !have('dbus-run-session'))
            fail('dconf and dbus-run-session are needed (apt-get install dconf-cli dbus)');
        const f = await fixture('ec');
        made.push(f.home);
        f.env.GSETTINGS_BACKEND = 'dconf';
        writeFile(`${f.home}/dump.ini`, settingsText(f, '/'));
        const script = `dconf load /org/gnome/shell/extensions/gsconnect/ < '${f.home}/dump.ini' && ` +
            `'${FERRY}' --identity gsconnect --config-dir '${f.home}/.config/ferry' devices --wait 0 --json`;
        const r = await run(['dbus-run-session', '--', 'sh', '-c', script], f.env);
        expect(r.status).withContext(r.stderr).toBe(0);
        expectPeers(f, JSON.parse(r.stdout) as Dev[]);
    });

    it('fails clearly with --identity gsconnect when GSConnect has no identity', async () => {
        const home = tmpDir('gsc-none');
        made.push(home);
        const r = await run([FERRY, '--identity', 'gsconnect', 'id'], {HOME: home, XDG_CONFIG_HOME: `${home}/.config`});
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/no GSConnect identity in .*gsconnect/);
    });

    it('falls back to its own identity with --identity auto, and keeps it', async () => {
        const home = tmpDir('own');
        made.push(home);
        const env = {HOME: home, XDG_CONFIG_HOME: `${home}/.config`};
        const first = JSON.parse((await run([FERRY, 'id', '--json'], env)).stdout) as {id: string; identitySource: string};
        expect(first.identitySource).toBe('ferry');
        expect(first.id).toMatch(/^[0-9a-f]{32}$/);
        const again = JSON.parse((await run([FERRY, 'id', '--json'], env)).stdout) as {id: string};
        expect(again.id).toBe(first.id);
        const key = fileMode(`${home}/.config/ferry/private.pem`);
        expect(key & 0o777).toBe(0o600);
        expect(fileMode(`${home}/.config/ferry`) & 0o777).toBe(0o700);
        const subject = await check(['openssl', 'x509', '-in', `${home}/.config/ferry/certificate.pem`, '-noout', '-subject', '-text']);
        expect(subject).toContain(`CN = ${first.id}`);
        expect(subject).toContain('prime256v1');
    });
});

function writeFile(path: string, text: string): void {
    GLib.file_set_contents(path, new TextEncoder().encode(text));
}

function fileMode(path: string): number {
    const out = GLib.spawn_command_line_sync(`stat -c %a '${path}'`)[1];
    return parseInt(new TextDecoder().decode(out).trim(), 8);
}
