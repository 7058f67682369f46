// Test certificates made with openssl, like the peers make theirs.
import GLib from 'gi://GLib';
import {check} from './proc.js';

export interface TestCert {
    dir: string;
    cert: string;
    key: string;
    id: string;
}

export type KeyKind = 'ec' | 'rsa2048' | 'rsa4096';

export async function makeCert(dir: string, name: string, kind: KeyKind, id = (GLib.uuid_string_random() ?? '').replace(/-/g, ''),
    subject = `/O=KDE/OU=Kde connect/CN=${id}`): Promise<TestCert> {
    GLib.mkdir_with_parents(dir, 0o700);
    const cert = `${dir}/${name}.crt`, key = `${dir}/${name}.key`;
    const newkey = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']
        : ['-newkey', kind === 'rsa2048' ? 'rsa:2048' : 'rsa:4096'];
    await check(['openssl', 'req', '-x509', '-new', ...newkey, '-nodes', '-sha256', '-days', '3650', '-subj', subject,
        '-keyout', key, '-out', cert]);
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
