// Ferry's own identity and trusted devices, in Ferry's config folder (never GSConnect's).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {delay} from '../../net/gio.js';
import {isValidDeviceId, normalizeDeviceType} from '../../protocol/identity.js';
import {parseInteger} from '../../protocol/numbers.js';
import {ageSeconds, ensureDirectory, exists, readText, removeFile, rename, run, setMode, writeTextAtomic} from '../fs.js';
import {IdentityError, MismatchedIdentityError, loadIdentity} from './certificate.js';
import {LocalIdentity, TrustedDevice} from './types.js';

interface DevicesFile {
    version: 1;
    devices: Record<string, Omit<TrustedDevice, 'id' | 'source'>>;
    /** GSConnect-paired devices the user unpaired in Ferry, by id, with the certificate then paired. */
    revoked: Record<string, string>;
}

/** A creation lock older than this was left by a process that died while making the identity. */
const CREATION_STALE_S = 60;

export function newDeviceId(): string {
    return (GLib.uuid_string_random() ?? '').replace(/-/g, '');
}

export class FerryStore {
    constructor(readonly dir: string) {}

    get certPath(): string {
        return GLib.build_filenamev([this.dir, 'certificate.pem']);
    }

    get keyPath(): string {
        return GLib.build_filenamev([this.dir, 'private.pem']);
    }

    private get configPath(): string {
        return GLib.build_filenamev([this.dir, 'config.json']);
    }

    private get creationLock(): string {
        return GLib.build_filenamev([this.dir, '.identity-creation']);
    }

    /**
     * Our identity, generated on first use: EC P-256, CN = a dashless UUIDv4, key mode 0600.
     * Safe when several processes start at once (the extension, `ferry` commands, the Nautilus
     * item): one of them creates the pair, under a lock, from files of its own, and the others
     * wait for it. A key that does not belong to the certificate is an error, never used.
     */
    async identity(): Promise<LocalIdentity> {
        for (;;) {
            const existing = await this.load();
            if (existing)
                return existing;
            await ensureDirectory(this.dir, 0o700);
            if (await this.claim()) {
                try {
                    // another process may have finished between our look and our claim
                    if (!await this.load())
                        await this.create();
                } finally {
                    await removeFile(this.creationLock).catch(() => undefined);
                }
            } else {
                await this.waitForCreator();
            }
        }
    }

    private async load(): Promise<LocalIdentity | null> {
        try {
            return await loadIdentity(this.certPath, this.keyPath, 'ferry');
        } catch (e) {
            if (e instanceof MismatchedIdentityError) {
                throw new IdentityError(`Ferry's identity in ${this.dir} is broken: ${e.message}. ` +
                    'Run `ferry id --reset` to make a new one (devices paired with it must then pair again).');
            }
            throw e;
        }
    }

    /** The creation lock is a directory: making one is atomic, and fails where it exists. */
    private async claim(): Promise<boolean> {
        try {
            await Gio.File.new_for_path(this.creationLock).make_directory_async(GLib.PRIORITY_DEFAULT, null);
            return true;
        } catch (e) {
            if (e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.EXISTS))
                return false;
            throw e;
        }
    }

    /** Waits while another process holds the lock; a lock older than CREATION_STALE_S was left by a crash. */
    private async waitForCreator(): Promise<void> {
        for (;;) {
            const age = await ageSeconds(this.creationLock);
            if (age === null)
                return;
            if (age > CREATION_STALE_S) {
                await removeFile(this.creationLock).catch(() => undefined);
                return;
            }
            await delay(50);
        }
    }

    /** Makes the pair in files of this process's own, then installs it: the key, then the certificate. */
    private async create(): Promise<void> {
        const id = newDeviceId();
        const tag = (GLib.uuid_string_random() ?? '').replace(/-/g, '').slice(0, 12);
        const tmpCert = `${this.certPath}.${tag}.new`, tmpKey = `${this.keyPath}.${tag}.new`;
        try {
            await run(['openssl', 'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                '-nodes', '-sha256', '-days', '3650', '-subj', `/O=KDE/OU=Ferry/CN=${id}`,
                '-keyout', tmpKey, '-out', tmpCert]);
            await setMode(tmpKey, 0o600);
            // a reader takes the pair only when both names exist, and the certificate comes last
            await rename(tmpKey, this.keyPath);
            await rename(tmpCert, this.certPath);
        } catch (e) {
            await Promise.all([removeFile(tmpCert), removeFile(tmpKey)]).catch(() => undefined);
            throw new Error(`could not create Ferry's identity (is openssl installed?): ${(e as Error).message}`);
        }
    }

    /**
     * Puts the identity and the pairings made with it aside (renamed with a time stamp, never
     * deleted), so that the next start creates a new identity. Returns the names it moved.
     */
    async reset(): Promise<string[]> {
        const stamp = GLib.DateTime.new_now_local().format('%Y%m%d-%H%M%S');
        const moved: string[] = [];
        for (const path of [this.certPath, this.keyPath, GLib.build_filenamev([this.dir, 'devices.json'])]) {
            if (!await exists(path))
                continue;
            await rename(path, `${path}.old-${stamp}`);
            moved.push(`${path}.old-${stamp}`);
        }
        return moved;
    }

    /** Settings of the `ferry` command (the shell extension uses GSettings instead). */
    async settings(): Promise<FerrySettings> {
        const text = await readText(this.configPath);
        if (!text)
            return {};
        let raw: Record<string, unknown>;
        try {
            raw = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
            console.warn(`Ferry: ignoring unreadable ${this.configPath}: ${(e as Error).message}`);
            return {};
        }
        const out: FerrySettings = {};
        if (typeof raw.name === 'string' && raw.name)
            out.name = raw.name;
        if (typeof raw.receiveDirectory === 'string' && raw.receiveDirectory)
            out.receiveDirectory = raw.receiveDirectory;
        if (Array.isArray(raw.receiveDisabled))
            out.receiveDisabled = raw.receiveDisabled.filter((v): v is string => typeof v === 'string');
        if (typeof raw.mdns === 'boolean')
            out.mdns = raw.mdns;
        // at most 32 short names: an address list, not a scan
        if (Array.isArray(raw.hosts))
            out.hosts = raw.hosts.filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 253).slice(0, 32);
        return out;
    }
}

export interface FerrySettings {
    name?: string;
    receiveDirectory?: string;
    /** Device ids whose files are refused. */
    receiveDisabled?: string[];
    /** false: no multicast DNS, broadcasts only. */
    mdns?: boolean;
    /** Devices by address: host names or addresses sent our identity by unicast (as `--to` does). */
    hosts?: string[];
}

/**
 * Devices Ferry itself paired, for one identity (a pairing binds the peer to our certificate,
 * so pairings made with GSConnect's identity and with Ferry's own are kept apart).
 */
export class TrustStore {
    constructor(readonly path: string) {}

    private async readDevicesFile(): Promise<DevicesFile> {
        const empty: DevicesFile = {version: 1, devices: {}, revoked: {}};
        const text = await readText(this.path);
        if (text === null)
            return empty;
        try {
            const parsed = JSON.parse(text) as Partial<DevicesFile>;
            return {version: 1, devices: parsed.devices ?? {}, revoked: parsed.revoked ?? {}};
        } catch (e) {
            console.warn(`Ferry: ignoring unreadable ${this.path}: ${(e as Error).message}`);
            return empty;
        }
    }

    async trustedDevices(): Promise<{devices: TrustedDevice[]; revoked: Map<string, string>}> {
        const file = await this.readDevicesFile();
        const devices: TrustedDevice[] = [];
        for (const [id, d] of Object.entries(file.devices)) {
            if (!isValidDeviceId(id) || typeof d?.certificatePem !== 'string')
                continue;
            devices.push({id, name: String(d.name ?? id), type: normalizeDeviceType(d.type),
                certificatePem: d.certificatePem, protocolVersion: parseInteger(d.protocolVersion), source: 'ferry'});
        }
        return {devices, revoked: new Map(Object.entries(file.revoked))};
    }

    async trust(device: Omit<TrustedDevice, 'source'>): Promise<void> {
        const file = await this.readDevicesFile();
        file.devices[device.id] = {name: device.name, type: device.type, certificatePem: device.certificatePem,
            protocolVersion: device.protocolVersion};
        delete file.revoked[device.id];
        await this.save(file);
    }

    /** Forgets a device; `revokeCertificate` also hides a GSConnect pairing with that certificate. */
    async untrust(id: string, revokeCertificate?: string): Promise<void> {
        const file = await this.readDevicesFile();
        delete file.devices[id];
        if (revokeCertificate)
            file.revoked[id] = revokeCertificate;
        await this.save(file);
    }

    private async save(file: DevicesFile): Promise<void> {
        await ensureDirectory(GLib.path_get_dirname(this.path), 0o700);
        await writeTextAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    }

}
