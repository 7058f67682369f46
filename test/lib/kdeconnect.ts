// A real, headless kdeconnectd (Debian's kdeconnect) in a network namespace, with its own HOME,
// its own session bus and Qt's offscreen platform, driven over its D-Bus API.
import GLib from 'gi://GLib';
import {Background, RunResult, check, inRootArgv, run, waitFor, privateBus} from './proc.js';

const KDECONNECTD = '/usr/lib/x86_64-linux-gnu/libexec/kdeconnectd';

export function haveKdeconnect(): boolean {
    return GLib.file_test(KDECONNECTD, GLib.FileTest.IS_EXECUTABLE);
}

/** kdeconnectd's object path for a device id (characters outside [A-Za-z0-9_] become '_'). */
function devicePath(id: string): string {
    return `/modules/kdeconnect/devices/${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export class KdePeer {
    private bus: Background | null = null;
    private daemon: Background | null = null;
    id = '';
    /** e.g. [22, 12] */
    version: [number, number] = [0, 0];

    /** `root`: a Debian root file system to run kdeconnectd from (chroot), else the host's. */
    private constructor(readonly ns: string, readonly name: string, readonly home: string, readonly root: string | null) {}

    /** argv run in the namespace (and in the root file system, with HOME mounted at the same path). */
    wrap(argv: string[]): string[] {
        if (!this.root) // kdeconnectd 22.12 writes received text to a file in its working directory
            return ['ip', 'netns', 'exec', this.ns, 'sh', '-c', 'cd "$HOME" && exec "$@"', 'sh', ...argv];
        return inRootArgv(this.ns, this.root, [[this.home, 'bind']], argv);
    }

    /** Uses protocol 8 names (kdeconnect ≥ 23.04) or the older ones. */
    get modern(): boolean {
        return this.version[0] > 23 || this.version[0] === 23 && this.version[1] >= 4;
    }

    get env(): Record<string, string> {
        return {
            HOME: this.home, USER: 'root', LANG: 'C.UTF-8',
            XDG_CONFIG_HOME: `${this.home}/.config`, XDG_DATA_HOME: `${this.home}/.local/share`,
            XDG_CACHE_HOME: `${this.home}/.cache`, XDG_RUNTIME_DIR: `${this.home}/run`,
            DBUS_SESSION_BUS_ADDRESS: `unix:path=${this.home}/bus`, QT_QPA_PLATFORM: 'offscreen',
            QT_LOGGING_RULES: 'kdeconnect.*.debug=true',
            // times in its log say when each of its jobs started and finished
            QT_MESSAGE_PATTERN: '%{time hh:mm:ss.zzz} %{category}: %{message}',
        };
    }

    get downloads(): string {
        return `${this.home}/Downloads`;
    }

    get log(): string {
        return this.daemon?.output ?? '';
    }

    /** How the running daemon ended, when it did without being stopped (its exit status, 128 + a signal): null while it runs. */
    ended: number | null = null;

    static async start(ns: string, name: string, root: string | null = null): Promise<KdePeer> {
        const home = GLib.dir_make_tmp(`ferry-kde-${name}-XXXXXX`) ?? '';
        const peer = new KdePeer(ns, name, home, root);
        await check(['mkdir', '-p', `${home}/.config/kdeconnect`, `${home}/Downloads`, `${home}/run`]);
        await check(['chmod', '700', `${home}/run`]);
        GLib.file_set_contents(`${home}/.config/kdeconnect/config`, new TextEncoder().encode(`[General]\nname=${name}\n`));
        GLib.file_set_contents(`${home}/.config/user-dirs.dirs`, new TextEncoder().encode('XDG_DOWNLOAD_DIR="$HOME/Downloads"\n'));
        await peer.startProcesses();
        return peer;
    }

    private async startProcesses(): Promise<void> {
        this.bus = new Background(['ip', 'netns', 'exec', this.ns, ...privateBus(`${this.home}/bus`)], this.env);
        await waitFor('kdeconnectd\'s bus', 5000, () => GLib.file_test(`${this.home}/bus`, GLib.FileTest.EXISTS) || undefined);
        const daemon = new Background(this.wrap([this.root ? '/usr/bin/kdeconnectd' : KDECONNECTD]), this.env);
        this.daemon = daemon;
        this.ended = null;
        daemon.exited.then(status => {
            if (this.daemon === daemon)
                this.ended = status;
        }).catch(() => undefined);
        await waitFor('kdeconnectd on its bus', 15000, async () => {
            const r = await this.gdbus('-d', 'org.kde.kdeconnect', '-o', '/modules/kdeconnect', '-m', 'org.kde.kdeconnect.daemon.selfId');
            const m = /\('([^']+)',\)/.exec(r.stdout);
            if (m)
                this.id = m[1];
            return m ? true : undefined;
        });
        const v = /(\d+)\.(\d+)/.exec((await this.cli('--version')).stdout);
        this.version = v ? [Number(v[1]), Number(v[2])] : [0, 0];
    }

    isPaired(deviceId: string): Promise<boolean> {
        return this.deviceProperty(deviceId, this.modern ? 'isPaired' : 'isTrusted');
    }

    hasPairingRequest(deviceId: string): Promise<boolean> {
        return this.deviceProperty(deviceId, this.modern ? 'isPairRequestedByPeer' : 'hasPairingRequests');
    }

    requestPairing(deviceId: string): Promise<void> {
        return this.deviceCall(deviceId, this.modern ? 'requestPairing' : 'requestPair');
    }

    async deviceString(deviceId: string, property: string): Promise<string> {
        const r = await this.gdbus('-d', 'org.kde.kdeconnect', '-o', devicePath(deviceId), '-m',
            'org.freedesktop.DBus.Properties.Get', 'org.kde.kdeconnect.device', property);
        return /'([^']*)'/.exec(r.stdout)?.[1] ?? '';
    }

    /** Restarts kdeconnectd with the same HOME (same identity and trust). */
    async restart(): Promise<void> {
        await this.stopProcesses();
        await this.startProcesses();
    }

    /** Stops kdeconnectd, gives it a new key pair under the same id (as a reinstall would), starts it. */
    async replaceCertificate(): Promise<void> {
        await this.stopProcesses();
        const dir = `${this.home}/.config/kdeconnect`;
        const type = await check(['openssl', 'pkey', '-in', `${dir}/privateKey.pem`, '-noout', '-text']);
        const newkey = /EC|prime256v1/.test(type) ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
        await check(['openssl', 'req', '-x509', '-new', ...newkey, '-nodes', '-sha256', '-days', '365', '-subj',
            `/O=KDE/OU=Kde connect/CN=${this.id}`, '-keyout', `${dir}/privateKey.pem`, '-out', `${dir}/certificate.pem`]);
        await this.startProcesses();
    }

    gdbus(...args: string[]): Promise<RunResult> {
        return run(['gdbus', 'call', '-e', ...args], this.env);
    }

    async deviceProperty(deviceId: string, property: string): Promise<boolean> {
        const r = await this.gdbus('-d', 'org.kde.kdeconnect', '-o', devicePath(deviceId), '-m',
            'org.freedesktop.DBus.Properties.Get', 'org.kde.kdeconnect.device', property);
        return r.status === 0 && r.stdout.includes('true');
    }

    async deviceCall(deviceId: string, method: string): Promise<void> {
        await check(['gdbus', 'call', '-e', '-d', 'org.kde.kdeconnect', '-o', devicePath(deviceId), '-m',
            `org.kde.kdeconnect.device.${method}`], this.env);
    }

    /** Shares several files as one batch (kdeconnect-cli shares only the last of several --share). */
    async shareUrls(deviceId: string, paths: string[]): Promise<void> {
        const urls = paths.map(p => new GLib.Variant('s', `file://${p}`).print(false)).join(', ');
        await check(this.wrap(['gdbus', 'call', '-e', '-d', 'org.kde.kdeconnect', '-o', `${devicePath(deviceId)}/share`, '-m',
            'org.kde.kdeconnect.device.share.shareUrls', `[${urls}]`]), this.env);
    }

    /** Every message on kdeconnectd's bus, as dbus-monitor prints them (what it shows the user goes there). */
    watchBus(): Background {
        return new Background(['dbus-monitor', '--address', `unix:path=${this.home}/bus`], this.env);
    }

    /** kdeconnect-cli with this daemon's bus. */
    cli(...args: string[]): Promise<RunResult> {
        return run(this.wrap(['kdeconnect-cli', ...args]), this.env);
    }

    /** Waits for a file to be complete in Downloads (KIO writes NAME.part, then renames). */
    waitForDownload(name: string, ms = 30000): Promise<string> {
        const path = `${this.downloads}/${name}`;
        return waitFor(`${path} at ${this.name}`, ms, () => GLib.file_test(path, GLib.FileTest.EXISTS) ? path : undefined);
    }

    private async stopProcesses(): Promise<void> {
        const daemon = this.daemon;
        this.daemon = null;
        await daemon?.stop();
        await this.bus?.stop();
        this.daemon = null;
        this.bus = null;
        await run(['rm', '-f', `${this.home}/bus`]);
    }

    async destroy(): Promise<void> {
        await this.stopProcesses();
        await run(['rm', '-rf', this.home]);
        if (this.root)
            await run(['rmdir', `${this.root}${this.home}`]);
    }
}
