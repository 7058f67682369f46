// Test certificates made with openssl, like the peers make theirs.
import GLib from 'gi://GLib';
import {check} from './proc.js';
import {atSuiteEnd} from './runner.js';

export interface TestCert {
    dir: string;
    cert: string;
    key: string;
    id: string;
}

export type KeyKind = 'ec' | 'rsa2048' | 'rsa4096';

// RSA prime search takes anywhere from a fraction of a second to many seconds (RSA-4096 once
// took over 5 s on a busy CI machine), so each RSA size is generated once per test process and
// its certificates are made from that key; EC keys are instant and stay fresh per certificate.
const rsaKeys = new Map<KeyKind, Promise<string>>();
let rsaDir: string | null = null;

function rsaKey(kind: KeyKind): Promise<string> {
    let key = rsaKeys.get(kind);
    if (!key) {
        if (!rsaDir) {
            rsaDir = GLib.dir_make_tmp('ferry-rsa-XXXXXX');
            atSuiteEnd(removeSharedKeys);
        }
        const path = `${rsaDir}/${kind}.key`;
        key = check(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${kind === 'rsa2048' ? 2048 : 4096}`,
            '-out', path]).then(() => path);
        rsaKeys.set(kind, key);
    }
    return key;
}

function removeSharedKeys(): void {
    if (rsaDir)
        GLib.spawn_command_line_sync(`rm -rf '${rsaDir}'`);
    rsaDir = null;
    rsaKeys.clear();
}

/** Generous time-out for a test that makes RSA certificates (the first one of a size waits for its key). */
export const CERT_TIMEOUT = 90_000;

export async function makeCert(dir: string, name: string, kind: KeyKind, id = (GLib.uuid_string_random() ?? '').replace(/-/g, ''),
    subject = `/O=KDE/OU=Kde connect/CN=${id}`): Promise<TestCert> {
    GLib.mkdir_with_parents(dir, 0o700);
    const cert = `${dir}/${name}.crt`, key = `${dir}/${name}.key`;
    if (kind === 'ec') {
        await check(['openssl', 'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
            '-sha256', '-days', '3650', '-subj', subject, '-keyout', key, '-out', cert]);
    } else {
        await check(['cp', await rsaKey(kind), key]);
        await check(['chmod', '600', key]);
        await check(['openssl', 'req', '-x509', '-new', '-key', key, '-sha256', '-days', '3650', '-subj', subject, '-out', cert]);
    }
    return {dir, cert, key, id};
}

/** The SubjectPublicKeyInfo DER, as openssl writes it. */
export async function spkiFile(c: TestCert): Promise<string> {
    const out = `${c.cert}.spki.der`;
    await check(['sh', '-c', `openssl x509 -in '${c.cert}' -pubkey -noout | openssl pkey -pubin -outform der -out '${out}'`]);
    return out;
}

export function readBytes(path: string): Uint8Array {
    const [ok, data] = GLib.file_get_contents(path);
    if (!ok)
        throw new Error(`cannot read ${path}`);
    return data;
}

export function readTextFile(path: string): string {
    return new TextDecoder().decode(readBytes(path));
}

export function tmpDir(tag: string): string {
    return GLib.dir_make_tmp(`ferry-${tag}-XXXXXX`);
}
