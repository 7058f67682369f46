// Reads GSConnect's identity and paired devices, read-only: its certificate and key from
// ~/.config/gsconnect/, its devices from GSettings through its compiled schema when one is
// installed, else from the raw settings data (dconf, or the keyfile backend) without a schema.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {isValidDeviceId, normalizeDeviceType} from '../../protocol/identity.js';
import {exists, readText, run} from '../fs.js';
import {loadIdentity} from './certificate.js';
import {LocalIdentity, TrustedDevice} from './types.js';

export const GSCONNECT_BUS_NAME = 'org.gnome.Shell.Extensions.GSConnect';
const UUID = 'gsconnect@andyholmes.github.io';
const SCHEMA_MAIN = 'org.gnome.Shell.Extensions.GSConnect';
const SCHEMA_DEVICE = 'org.gnome.Shell.Extensions.GSConnect.Device';
const SCHEMA_SHARE = 'org.gnome.Shell.Extensions.GSConnect.Plugin.Share';
const ROOT = '/org/gnome/shell/extensions/gsconnect/';

/** Settings under ROOT, addressed by a path relative to it ('' or 'device/<id>/'). */
interface SettingsView {
    readonly kind: string;
    get(relPath: string, schemaId: string, key: string): GLib.Variant | null;
}

class SchemaView implements SettingsView {
    readonly kind: string;
    constructor(private readonly source: Gio.SettingsSchemaSource, where: string) {
        this.kind = `schema (${where})`;
    }

    get(relPath: string, schemaId: string, key: string): GLib.Variant | null {
        const schema = this.source.lookup(schemaId, true);
        if (!schema || !schema.has_key(key))
            return null;
        const settings = schemaId === SCHEMA_MAIN
            ? new Gio.Settings({settings_schema: schema})
            : new Gio.Settings({settings_schema: schema, path: `${ROOT}${relPath}`});
        return settings.get_user_value(key) ?? settings.get_value(key);
    }
}

/** Raw key values by absolute settings path (with trailing slash). */
class RawView implements SettingsView {
    constructor(readonly kind: string, private readonly data: Map<string, Map<string, GLib.Variant>>) {}

    get(relPath: string, _schemaId: string, key: string): GLib.Variant | null {
        return this.data.get(`${ROOT}${relPath}`)?.get(key) ?? null;
    }
}

/**
 * Parses key-file text whose groups name settings paths (relative to `base`) and whose values
 * are GVariant text: the format of both `dconf dump` and GLib's keyfile settings backend.
 */
export function parseSettingsKeyFile(text: string, base: string): Map<string, Map<string, GLib.Variant>> {
    const kf = new GLib.KeyFile();
    kf.load_from_data(text, text.length, GLib.KeyFileFlags.NONE);
    const out = new Map<string, Map<string, GLib.Variant>>();
    const [groups] = kf.get_groups();
    for (const group of groups) {
        const rel = group.replace(/^\/+|\/+$/g, '');
        const path = `${base.replace(/\/+$/, '')}/${rel}${rel ? '/' : ''}`.replace(/\/+/g, '/');
        const keys = new Map<string, GLib.Variant>();
        const [names] = kf.get_keys(group);
        for (const name of names) {
            try {
                keys.set(name, GLib.Variant.parse(null, kf.get_value(group, name) ?? '', null, null));
            } catch {
                // a value we cannot parse is one we do not need
            }
        }
        out.set(path, keys);
    }
    return out;
}

async function schemaSource(): Promise<SettingsView | null> {
    const dataDirs = [GLib.get_user_data_dir(), ...GLib.get_system_data_dirs()];
    const defaultSource = Gio.SettingsSchemaSource.get_default();
    for (const dir of dataDirs) {
        const schemas = GLib.build_filenamev([dir, 'gnome-shell', 'extensions', UUID, 'schemas']);
        if (!await exists(GLib.build_filenamev([schemas, 'gschemas.compiled'])))
            continue;
        try {
            const source = Gio.SettingsSchemaSource.new_from_directory(schemas, defaultSource, false);
            if (source.lookup(SCHEMA_MAIN, false))
                return new SchemaView(source, schemas);
        } catch {
            // a broken compiled schema: try the next place
        }
    }
    if (defaultSource?.lookup(SCHEMA_MAIN, true))
        return new SchemaView(defaultSource, 'system schema');
    return null;
}

async function rawSource(): Promise<SettingsView | null> {
    if (GLib.getenv('GSETTINGS_BACKEND') === 'keyfile') {
        const path = GLib.build_filenamev([GLib.get_user_config_dir(), 'glib-2.0', 'settings', 'keyfile']);
        const text = await readText(path);
        return text === null ? null : new RawView(`keyfile ${path} (no schema)`, parseSettingsKeyFile(text, '/'));
    }
    try {
        const text = await run(['dconf', 'dump', ROOT]);
        return new RawView('dconf (no schema)', parseSettingsKeyFile(text, ROOT));
    } catch {
        return null;
    }
}

export class GSConnectStore {
    constructor(readonly dir = GLib.build_filenamev([GLib.get_user_config_dir(), 'gsconnect'])) {}

    identity(): Promise<LocalIdentity | null> {
        return loadIdentity(GLib.build_filenamev([this.dir, 'certificate.pem']),
            GLib.build_filenamev([this.dir, 'private.pem']), 'gsconnect');
    }

    /** GSConnect's paired devices, and where they were read from. */
    async pairedDevices(): Promise<{devices: TrustedDevice[]; from: string | null}> {
        const view = await schemaSource() ?? await rawSource();
        if (!view)
            return {devices: [], from: null};
        const ids = view.get('', SCHEMA_MAIN, 'devices')?.deepUnpack() as string[] | undefined ?? [];
        const devices: TrustedDevice[] = [];
        for (const id of ids) {
            if (!isValidDeviceId(id))
                continue;
            const dev = `device/${id}/`;
            const str = (key: string, schema = SCHEMA_DEVICE, path = dev) =>
                view.get(path, schema, key)?.deepUnpack() as string | undefined;
            const paired = view.get(dev, SCHEMA_DEVICE, 'paired')?.deepUnpack() as boolean | undefined;
            const certificatePem = str('certificate-pem');
            if (!paired || !certificatePem)
                continue;
            const receiveDirectory = str('receive-directory', SCHEMA_SHARE, `${dev}plugin/share/`);
            const receiveFiles = view.get(`${dev}plugin/share/`, SCHEMA_SHARE, 'receive-files')?.deepUnpack() as boolean | undefined;
            devices.push({
                id, name: str('name') || id, type: normalizeDeviceType(str('type')), certificatePem, source: 'gsconnect',
                ...receiveDirectory ? {receiveDirectory} : {},
                ...receiveFiles === undefined ? {} : {receiveFiles},
            });
        }
        return {devices, from: view.kind};
    }
}
