import {DerError, base64Decode, certificatePublicPart, pemToDer, privateKeyPublicPart, readTlv, subjectCommonName, subjectOrganization,
    subjectPublicKeyInfo} from '../../src/protocol/der.js';
import {isGSConnectCertificate} from '../../src/protocol/share.js';
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

    it('reads the subject\'s organization and unit (how GSConnect\'s certificates are told apart)', async () => {
        const c = await makeCert(dir, 'gsc', 'ec', 'y'.repeat(32), `/O=andyholmes.github.io/OU=GSConnect/CN=${'y'.repeat(32)}`);
        expect(subjectOrganization(pemToDer(readTextFile(c.cert)))).toEqual({o: ['andyholmes.github.io'], ou: ['GSConnect']});
        const k = await makeCert(dir, 'kde', 'ec');
        expect(subjectOrganization(pemToDer(readTextFile(k.cert)))).toEqual({o: ['KDE'], ou: ['Kde connect']});
        // GSConnect takes empty files only with a payload connection; kdeconnectd only without
        expect(isGSConnectCertificate(pemToDer(readTextFile(c.cert)))).toBeTrue();
        expect(isGSConnectCertificate(pemToDer(readTextFile(k.cert)))).toBeFalse();
        expect(isGSConnectCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]))).toBeFalse();
    });

    // every form a peer or GSConnect writes its key in: PKCS#8, PKCS#1 (RSA), SEC 1 (EC)
    for (const kind of ['ec', 'rsa2048', 'rsa4096'] as KeyKind[]) {
        it(`tells that an ${kind} key belongs to its certificate and that another does not, in every PEM form`, async () => {
            const c = await makeCert(dir, `pair-${kind}`, kind);
            const other = await makeCert(dir, `other-${kind}`, 'ec');
            const certPart = certificatePublicPart(pemToDer(readTextFile(c.cert)));
            expect(certPart).toMatch(kind === 'ec' ? /^ec:04[0-9a-f]{128}$/ : /^rsa:[0-9a-f]+:010001$/);
            const forms = [['pkcs8', 'openssl', 'pkey', '-in', c.key, '-out', `${c.key}.p8`]];
            forms.push(kind === 'ec' ? ['sec1', 'openssl', 'ec', '-in', c.key, '-out', `${c.key}.sec1`]
                : ['pkcs1', 'openssl', 'rsa', '-traditional', '-in', c.key, '-out', `${c.key}.pkcs1`]);
            for (const [form, ...argv] of forms) {
                await check(argv);
                const pem = readTextFile(argv[argv.length - 1]);
                expect(pem).withContext(form).toContain(form === 'pkcs8' ? 'BEGIN PRIVATE KEY' : form === 'sec1' ? 'BEGIN EC PRIVATE KEY' : 'BEGIN RSA PRIVATE KEY');
                expect(privateKeyPublicPart(pem)).withContext(form).toBe(certPart);
            }
            expect(privateKeyPublicPart(readTextFile(other.key))).not.toBe(certPart);
        }, CERT_TIMEOUT);
    }

    it('says it cannot tell for an EC key without its public point, and refuses what is no key', async () => {
        const c = await makeCert(dir, 'nopub', 'ec');
        await check(['openssl', 'ec', '-in', c.key, '-no_public', '-out', `${c.key}.nopub`]);
        expect(privateKeyPublicPart(readTextFile(`${c.key}.nopub`))).toBeNull();
        expect(() => privateKeyPublicPart(readTextFile(c.cert))).toThrowError(DerError);
        expect(() => privateKeyPublicPart('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----')).toThrowError(DerError);
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
