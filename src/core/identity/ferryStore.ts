// Ferry's own identity and trusted devices, in Ferry's config folder (never GSConnect's).
import GLib from 'gi://GLib';
import {isValidDeviceId, normalizeDeviceType} from '../../protocol/identity.js';
import {parseInteger} from '../../protocol/numbers.js';
import {ensureDirectory, readText, removeFile, rename, run, setMode, writeTextAtomic} from '../fs.js';
import {loadIdentity} from './certificate.js';
import {LocalIdentity, TrustedDevice} from './types.js';

interface DevicesFile {
    version: 1;
    devices: Record<string, Omit<TrustedDevice, 'id' | 'source'>>;
    /** GSConnect-paired devices the user unpaired in Ferry, by id, with the certificate then paired. */
    revoked: Record<string, string>;
}

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

    /** Our identity, generated on first use: EC P-256, CN = a dashless UUIDv4, key mode 0600. */
    async identity(): Promise<LocalIdentity> {
        const existing = await loadIdentity(this.certPath, this.keyPath, 'ferry');
        if (existing)
            return existing;
        await ensureDirectory(this.dir, 0o700);
        const id = newDeviceId();
        const tmpCert = `${this.certPath}.new`, tmpKey = `${this.keyPath}.new`;
        try {
            await run(['openssl', 'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                '-nodes', '-sha256', '-days', '3650', '-subj', `/O=KDE/OU=Ferry/CN=${id}`,
                '-keyout', tmpKey, '-out', tmpCert]);
            await setMode(tmpKey, 0o600);
            await rename(tmpKey, this.keyPath);
            await rename(tmpCert, this.certPath);
        } catch (e) {
            await Promise.all([removeFile(tmpCert), removeFile(tmpKey)]).catch(() => undefined);
            throw new Error(`could not create Ferry's identity (is openssl installed?): ${(e as Error).message}`);
        }
        const created = await loadIdentity(this.certPath, this.keyPath, 'ferry');
        if (!created)
            throw new Error('the new identity vanished');
        return created;
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
        return out;
    }
}

export interface FerrySettings {
    name?: string;
    receiveDirectory?: string;
    /** Device ids whose files are refused. */
    receiveDisabled?: string[];
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
