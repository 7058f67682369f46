import {DerError, base64Decode, pemToDer, readTlv, subjectCommonName, subjectPublicKeyInfo} from '../../src/protocol/der.js';
import {sha256, toHex} from '../../src/protocol/sha256.js';
import {verificationKey} from '../../src/protocol/verification.js';
import {CERT_TIMEOUT, KeyKind, makeCert, readBytes, readTextFile, spkiFile, tmpDir} from '../lib/certs.js';
import {check, run} from '../lib/proc.js';

describe('DER reader', () => {
    const dir = tmpDir('der');
    afterAll(() => run(['rm', '-rf', dir]));

    for (const kind of ['ec', 'rsa2048', 'rsa4096'] as KeyKind[]) {
        it(`takes the public key and CN out of an ${kind} certificate as openssl does`, async () => {
            const c = await makeCert(dir, kind, kind);
            const der = pemToDer(readTextFile(c.cert));
            expect(toHex(subjectPublicKeyInfo(der))).toBe(toHex(readBytes(await spkiFile(c))));
            expect(subjectCommonName(der)).toBe(c.id);
        }, CERT_TIMEOUT);
    }

    it('finds the CN among other attributes and in any position', async () => {
        const c = await makeCert(dir, 'multi', 'ec', 'x'.repeat(32), `/C=PL/CN=${'x'.repeat(32)}/O=andyholmes.github.io/OU=GSConnect`);
        expect(subjectCommonName(pemToDer(readTextFile(c.cert)))).toBe('x'.repeat(32));
    });

    it('returns null for a subject without CN', async () => {
        const c = await makeCert(dir, 'nocn', 'ec', 'unused', '/O=KDE/OU=Kde connect');
        expect(subjectCommonName(pemToDer(readTextFile(c.cert)))).toBeNull();
    });

    it('refuses truncated and malformed DER with DerError', async () => {
        const c = await makeCert(dir, 'trunc', 'ec');
        const der = pemToDer(readTextFile(c.cert));
        for (const cut of [1, 10, 100, der.length - 1])
            expect(() => subjectPublicKeyInfo(der.slice(0, cut))).toThrowError(DerError);
        expect(() => readTlv(new Uint8Array([0x30, 0x85, 1, 2, 3, 4, 5]), 0)).toThrowError(DerError, /length form/);
        expect(() => readTlv(new Uint8Array([0x30, 0x80]), 0)).toThrowError(DerError);
        expect(() => subjectPublicKeyInfo(new Uint8Array([0x02, 0x01, 0x00]))).toThrowError(DerError, /Certificate SEQUENCE/);
        expect(() => pemToDer('no pem here')).toThrowError(DerError);
    });

    it('decodes base64 like the reference', () => {
        expect(Array.from(base64Decode('AAEC/w=='))).toEqual([0, 1, 2, 255]);
        expect(new TextDecoder().decode(base64Decode('RmVycnk='))).toBe('Ferry');
        expect(() => base64Decode('a')).toThrowError(DerError);
    });
});

describe('SHA-256 and the verification key', () => {
    const dir = tmpDir('vk');
    afterAll(() => run(['rm', '-rf', dir]));

    it('hashes like openssl', async () => {
        for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 100000]) {
            const path = `${dir}/data${size}`;
            await check(['sh', '-c', `head -c ${size} /dev/urandom > '${path}'`]);
            const expected = (await check(['sh', '-c', `openssl dgst -sha256 -r '${path}' | cut -d' ' -f1`])).trim();
            expect(toHex(sha256(readBytes(path)))).withContext(`size ${size}`).toBe(expected);
        }
    });

    // The expected key comes from openssl and python, independently of Ferry's code.
    async function referenceKey(a: string, b: string, timestamp?: number): Promise<string> {
        const script = 'import sys,hashlib;x=open(sys.argv[1],"rb").read();y=open(sys.argv[2],"rb").read();' +
            'f,s=(x,y) if x>=y else (y,x);t=sys.argv[3].encode() if len(sys.argv)>3 else b"";' +
            'print(hashlib.sha256(f+s+t).hexdigest()[:8].upper())';
        return (await check(['python3', '-c', script, a, b, ...timestamp === undefined ? [] : [String(timestamp)]])).trim();
    }

    for (const [ka, kb] of [['ec', 'ec'], ['rsa2048', 'ec'], ['rsa4096', 'rsa2048']] as [KeyKind, KeyKind][]) {
        it(`matches the reference for ${ka} and ${kb}, v7 and v8, in either order`, async () => {
            const a = await makeCert(dir, `a-${ka}-${kb}`, ka), b = await makeCert(dir, `b-${ka}-${kb}`, kb);
            const [sa, sb] = [await spkiFile(a), await spkiFile(b)];
            const pa = subjectPublicKeyInfo(pemToDer(readTextFile(a.cert)));
            const pb = subjectPublicKeyInfo(pemToDer(readTextFile(b.cert)));
            const ts = 1764000000;
            expect(verificationKey(pa, pb)).toBe(await referenceKey(sa, sb));
            expect(verificationKey(pa, pb, ts)).toBe(await referenceKey(sa, sb, ts));
            expect(verificationKey(pb, pa, ts)).toBe(verificationKey(pa, pb, ts));
            expect(verificationKey(pa, pb, ts)).toMatch(/^[0-9A-F]{8}$/);
            expect(verificationKey(pa, pb, ts + 1)).not.toBe(verificationKey(pa, pb, ts));
        }, CERT_TIMEOUT);
    }
});
