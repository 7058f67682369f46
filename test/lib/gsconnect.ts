// GSConnect's service (Debian's gnome-shell-extension-gsconnect) run standalone under gjs in a
// network namespace: its own HOME with the keyfile settings backend, a compiled copy of its
// schema, a private Xvfb (it is a Gtk.Application) and a session bus that Ferry may share.
import GLib from 'gi://GLib';
import {Background, RunResult, check, inRootArgv, run, sleep, waitFor, privateBus} from './proc.js';

const GSC_DIR = '/usr/share/gnome-shell/extensions/gsconnect@andyholmes.github.io';
const SCHEMA = '/usr/share/glib-2.0/schemas/org.gnome.Shell.Extensions.GSConnect.gschema.xml';
let displays = 70;

export function haveGSConnect(root = ''): boolean {
    return GLib.file_test(`${root}${GSC_DIR}/service/daemon.js`, GLib.FileTest.EXISTS) &&
        GLib.file_test(`${root}${SCHEMA}`, GLib.FileTest.EXISTS) && GLib.find_program_in_path('Xvfb') !== null;
}

/** A session in a namespace: HOME, session bus and display, for GSConnect and Ferry in turn. */
export class Session {
    private bus: Background | null = null;
    private xvfb: Background | null = null;
    readonly display = `:${displays++}`;

    /** `root`: a Debian root file system whose GSConnect runs instead of the host's (chroot). */
    constructor(readonly ns: string, readonly home: string, readonly root: string | null = null) {}

    get env(): Record<string, string> {
        return {
            HOME: this.home, USER: 'root', LANG: 'C.UTF-8', DISPLAY: this.display, NO_AT_BRIDGE: '1', GTK_A11Y: 'none',
            XDG_CONFIG_HOME: `${this.home}/.config`, XDG_DATA_HOME: `${this.home}/.local/share`,
            XDG_CACHE_HOME: `${this.home}/.cache`, XDG_RUNTIME_DIR: `${this.home}/run`,
            DBUS_SESSION_BUS_ADDRESS: `unix:path=${this.home}/bus`,
            GSETTINGS_SCHEMA_DIR: `${this.home}/schemas`, GSETTINGS_BACKEND: 'keyfile',
        };
    }

    async start(): Promise<void> {
        await check(['mkdir', '-p', `${this.home}/run`, `${this.home}/schemas`, `${this.home}/.config/glib-2.0/settings`,
            `${this.home}/Downloads`]);
        GLib.file_set_contents(`${this.home}/.config/user-dirs.dirs`, new TextEncoder().encode('XDG_DOWNLOAD_DIR="$HOME/Downloads"\n'));
        await check(['chmod', '700', `${this.home}/run`]);
        await check(['cp', `${this.root ?? ''}${SCHEMA}`, `${this.home}/schemas/`]);
        await check(['glib-compile-schemas', `${this.home}/schemas`]);
        // an abstract socket only: it lives in the namespace, and no lock file is written
        this.xvfb = new Background(['ip', 'netns', 'exec', this.ns, 'Xvfb', this.display, '-nolock', '-nolisten', 'tcp',
            '-nolisten', 'unix', '-screen', '0', '800x600x24']);
        this.bus = new Background(['ip', 'netns', 'exec', this.ns, ...privateBus(`${this.home}/bus`)], this.env);
        await waitFor('the session bus', 5000, () => GLib.file_test(`${this.home}/bus`, GLib.FileTest.EXISTS) || undefined);
        await sleep(500);
    }

    exec(argv: string[]): string[] {
        return ['ip', 'netns', 'exec', this.ns, ...argv];
    }

    /** argv run in the namespace and, with a root, inside it with HOME mounted at the same path. */
    execInRoot(argv: string[]): string[] {
        if (!this.root)
            return this.exec(argv);
        return inRootArgv(this.ns, this.root, [[this.home, 'bind']], argv);
    }

    async stop(): Promise<void> {
        await this.bus?.stop();
        await this.xvfb?.stop();
    }
}

export class GSConnectPeer {
    private daemon: Background | null = null;
    id = '';

    constructor(readonly session: Session, readonly name: string) {}

    get log(): string {
        return this.daemon?.output ?? '';
    }

    /** Starts the service; on first start with an id of [0-9a-f] only (dashes break kdeconnectd's SNI). */
    async start(): Promise<void> {
        const kf = `${this.session.home}/.config/glib-2.0/settings/keyfile`;
        if (!GLib.file_test(kf, GLib.FileTest.EXISTS)) {
            const id = (GLib.uuid_string_random() ?? '').replace(/-/g, '');
            // debug: GSConnect logs every packet it receives, which is how the tests see what it got
            GLib.file_set_contents(kf, new TextEncoder().encode(
                `[org/gnome/shell/extensions/gsconnect]\nname='${this.name}'\nid='${id}'\ndebug=true\n`));
        }
        // GSConnect ≥ 58 is an ES module (its shebang says `gjs -m`)
        const [, head] = GLib.file_get_contents(`${this.session.root ?? ''}${GSC_DIR}/service/daemon.js`);
        const esm = new TextDecoder().decode(head.subarray(0, 64)).includes('gjs -m');
        this.daemon = new Background(this.session.execInRoot(['gjs', ...esm ? ['-m'] : [], `${GSC_DIR}/service/daemon.js`]),
            this.session.env);
        await waitFor('GSConnect on the bus', 20000, async () => {
            const r = await this.gdbus('-d', 'org.freedesktop.DBus', '-o', '/org/freedesktop/DBus', '-m',
                'org.freedesktop.DBus.NameHasOwner', 'org.gnome.Shell.Extensions.GSConnect');
            return r.stdout.includes('true') || undefined;
        });
        const cert = `${this.session.home}/.config/gsconnect/certificate.pem`;
        await waitFor('GSConnect\'s certificate', 10000, () => GLib.file_test(cert, GLib.FileTest.EXISTS) || undefined);
        const subject = await check(['openssl', 'x509', '-in', cert, '-noout', '-subject', '-nameopt', 'multiline']);
        this.id = /commonName\s*=\s*(\S+)/.exec(subject)?.[1] ?? '';
        // its start-up broadcast is often lost in a fresh namespace
        for (let i = 0; i < 3; i++) {
            await sleep(700);
            await this.refresh();
        }
    }

    gdbus(...args: string[]): Promise<RunResult> {
        return run(['gdbus', 'call', '-e', ...args], this.session.env);
    }

    refresh(): Promise<RunResult> {
        return this.gdbus('-d', 'org.gnome.Shell.Extensions.GSConnect', '-o', '/org/gnome/Shell/Extensions/GSConnect', '-m',
            'org.gtk.Actions.Activate', 'refresh', '[]', '{}');
    }

    private devicePath(id: string): string {
        return `/org/gnome/Shell/Extensions/GSConnect/Device/${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
    }

    async deviceProperty(id: string, property: 'Connected' | 'Paired'): Promise<boolean> {
        const r = await this.gdbus('-d', 'org.gnome.Shell.Extensions.GSConnect', '-o', this.devicePath(id), '-m',
            'org.freedesktop.DBus.Properties.Get', 'org.gnome.Shell.Extensions.GSConnect.Device', property);
        return r.status === 0 && r.stdout.includes('true');
    }

    get downloads(): string {
        return `${this.session.home}/Downloads`;
    }

    /** Shares a file (a path inside the session's HOME) with a device. */
    async shareFile(id: string, path: string): Promise<void> {
        await check(['gdbus', 'call', '-e', '-d', 'org.gnome.Shell.Extensions.GSConnect', '-o', this.devicePath(id), '-m',
            'org.gtk.Actions.Activate', 'shareFile', `[<('file://${path}', false)>]`, '{}'], this.session.env);
    }

    async shareText(id: string, text: string): Promise<void> {
        await check(['gdbus', 'call', '-e', '-d', 'org.gnome.Shell.Extensions.GSConnect', '-o', this.devicePath(id), '-m',
            'org.gtk.Actions.Activate', 'shareText', `[<${new GLib.Variant('s', text).print(false)}>]`, '{}'], this.session.env);
    }

    /** GSConnect ≥ 62 shows the pairing verification key in the device's EncryptionInfo. */
    async verificationKey(id: string): Promise<string> {
        const r = await this.gdbus('-d', 'org.gnome.Shell.Extensions.GSConnect', '-o', this.devicePath(id), '-m',
            'org.freedesktop.DBus.Properties.Get', 'org.gnome.Shell.Extensions.GSConnect.Device', 'EncryptionInfo');
        return /Verification key: ([0-9A-F]{8})/.exec(r.stdout)?.[1] ?? '';
    }

    /** Requests pairing, or accepts the device's pending request. */
    async pair(id: string): Promise<void> {
        await check(['gdbus', 'call', '-e', '-d', 'org.gnome.Shell.Extensions.GSConnect', '-o', this.devicePath(id), '-m',
            'org.gtk.Actions.Activate', 'pair', '[]', '{}'], this.session.env);
    }

    async stop(): Promise<void> {
        await this.daemon?.stop();
        this.daemon = null;
    }
}
