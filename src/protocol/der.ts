// A small DER reader: just enough X.509 to take the SubjectPublicKeyInfo and the subject out of a
// certificate, and the public half out of a private key (to tell that a key belongs to its
// certificate). Gio exposes neither the public key nor (before GLib 2.70) the subject.

export class DerError extends Error {
    override name = 'DerError';
}

export interface Tlv {
    tag: number;
    /** Offset of the tag byte. */
    start: number;
    /** Offset of the first content byte. */
    contentStart: number;
    /** Offset just past the content. */
    end: number;
}

const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_OID = 0x06;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_CONTEXT_0 = 0xa0;
const TAG_CONTEXT_1 = 0xa1;
const OID_COMMON_NAME = [0x55, 0x04, 0x03];
const OID_ORGANIZATION = [0x55, 0x04, 0x0a];
const OID_ORGANIZATIONAL_UNIT = [0x55, 0x04, 0x0b];
/** 1.2.840.113549.1.1.1 */
const OID_RSA = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/** 1.2.840.10045.2.1 */
const OID_EC = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/** Reads the TLV at `offset`, refusing indefinite or overlong lengths and overruns of `limit`. */
export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
    if (offset + 2 > limit)
        throw new DerError(`truncated DER at offset ${offset}`);
    const tag = der[offset];
    if ((tag & 0x1f) === 0x1f)
        throw new DerError('multi-byte DER tags are not used in certificates');
    let len = der[offset + 1];
    let contentStart = offset + 2;
    if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 4)
            throw new DerError(`unsupported DER length form at offset ${offset}`);
        if (contentStart + n > limit)
            throw new DerError(`truncated DER length at offset ${offset}`);
        len = 0;
        for (let i = 0; i < n; i++)
            len = len * 256 + der[contentStart + i];
        contentStart += n;
    }
    const end = contentStart + len;
    if (end > limit)
        throw new DerError(`DER element at offset ${offset} overruns its container`);
    return {tag, start: offset, contentStart, end};
}

/** The elements directly inside a constructed element. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let off = parent.contentStart; off < parent.end;) {
        const t = readTlv(der, off, parent.end);
        out.push(t);
        off = t.end;
    }
    return out;
}

function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
    if (!t || t.tag !== tag)
        throw new DerError(`expected ${what}`);
    return t;
}

interface TbsParts {
    subject: Tlv;
    spki: Tlv;
}

function tbsParts(der: Uint8Array): TbsParts {
    const cert = expectTag(readTlv(der, 0), TAG_SEQUENCE, 'Certificate SEQUENCE');
    const tbs = expectTag(children(der, cert)[0], TAG_SEQUENCE, 'TBSCertificate SEQUENCE');
    const fields = children(der, tbs);
    // version [0] is optional (absent in v1 certificates)
    const i = fields[0]?.tag === TAG_CONTEXT_0 ? 1 : 0;
    // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    const subject = expectTag(fields[i + 4], TAG_SEQUENCE, 'subject Name');
    const spki = expectTag(fields[i + 5], TAG_SEQUENCE, 'SubjectPublicKeyInfo');
    return {subject, spki};
}

/** The DER bytes of the certificate's SubjectPublicKeyInfo (what `openssl pkey -pubin -outform der` prints). */
export function subjectPublicKeyInfo(certDer: Uint8Array): Uint8Array {
    const {spki} = tbsParts(certDer);
    return certDer.slice(spki.start, spki.end);
}

function sameBytes(a: Uint8Array, b: number[]): boolean {
    return a.length === b.length && b.every((x, k) => a[k] === x);
}

/** The values of one attribute of the certificate's subject, in order. */
function subjectAttribute(certDer: Uint8Array, attributeOid: number[]): string[] {
    const {subject} = tbsParts(certDer);
    const values: string[] = [];
    for (const rdn of children(certDer, subject)) {
        expectTag(rdn, TAG_SET, 'RelativeDistinguishedName SET');
        for (const atv of children(certDer, rdn)) {
            const [oid, value] = children(certDer, expectTag(atv, TAG_SEQUENCE, 'AttributeTypeAndValue'));
            expectTag(oid, TAG_OID, 'attribute OID');
            if (value && sameBytes(certDer.subarray(oid.contentStart, oid.end), attributeOid))
                values.push(new TextDecoder().decode(certDer.subarray(value.contentStart, value.end)));
        }
    }
    return values;
}

/** The subject's commonName, or null when it has none. */
export function subjectCommonName(certDer: Uint8Array): string | null {
    return subjectAttribute(certDer, OID_COMMON_NAME)[0] ?? null;
}

/** The subject's organization and organizational unit (GSConnect signs itself O=andyholmes.github.io, OU=GSConnect). */
export function subjectOrganization(certDer: Uint8Array): {o: string[]; ou: string[]} {
    return {o: subjectAttribute(certDer, OID_ORGANIZATION), ou: subjectAttribute(certDer, OID_ORGANIZATIONAL_UNIT)};
}

function hex(bytes: Uint8Array): string {
    return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

/** An INTEGER's magnitude as hex, without the sign byte DER adds to a high first bit. */
function integerHex(der: Uint8Array, t: Tlv | undefined, what: string): string {
    const v = expectTag(t, TAG_INTEGER, what);
    let start = v.contentStart;
    while (start < v.end - 1 && der[start] === 0)
        start++;
    return hex(der.subarray(start, v.end));
}

/** A BIT STRING's bytes (after the unused-bits byte). */
function bitStringBytes(der: Uint8Array, t: Tlv | undefined, what: string): Uint8Array {
    const v = expectTag(t, TAG_BIT_STRING, what);
    return der.subarray(v.contentStart + 1, v.end);
}

function rsaPublicPart(der: Uint8Array, seq: Tlv, hasVersion: boolean): string {
    const f = children(der, seq);
    const i = hasVersion ? 1 : 0;
    return `rsa:${integerHex(der, f[i], 'RSA modulus')}:${integerHex(der, f[i + 1], 'RSA exponent')}`;
}

/** ECPrivateKey (RFC 5915): its optional [1] publicKey, or null when the key does not carry it. */
function ecPrivatePublicPart(der: Uint8Array, seq: Tlv): string | null {
    const tagged = children(der, seq).find(t => t.tag === TAG_CONTEXT_1);
    if (!tagged)
        return null;
    return `ec:${hex(bitStringBytes(der, children(der, tagged)[0], 'EC public key'))}`;
}

/**
 * The public key of a certificate, in a form comparable with privateKeyPublicPart: `rsa:N:E` or
 * `ec:POINT` (hex); null for other algorithms.
 */
export function certificatePublicPart(certDer: Uint8Array): string | null {
    const {spki} = tbsParts(certDer);
    const [alg, key] = children(certDer, spki);
    const oid = expectTag(children(certDer, expectTag(alg, TAG_SEQUENCE, 'AlgorithmIdentifier'))[0], TAG_OID, 'algorithm OID');
    const oidBytes = certDer.subarray(oid.contentStart, oid.end);
    const bits = bitStringBytes(certDer, key, 'subjectPublicKey');
    if (sameBytes(oidBytes, OID_EC))
        return `ec:${hex(bits)}`;
    if (sameBytes(oidBytes, OID_RSA)) {
        const inner = Uint8Array.from(bits);
        return rsaPublicPart(inner, expectTag(readTlv(inner, 0), TAG_SEQUENCE, 'RSAPublicKey'), false);
    }
    return null;
}

/**
 * The public half a PEM private key carries (PKCS#8, PKCS#1 RSA or SEC 1 EC, unencrypted), in
 * certificatePublicPart's form; null when it cannot be told (an EC key without its public point,
 * another algorithm). Throws DerError for a key that is not one.
 */
export function privateKeyPublicPart(pem: string): string | null {
    const m = /-----BEGIN (RSA |EC )?PRIVATE KEY-----([\s\S]*?)-----END \1?PRIVATE KEY-----/.exec(pem);
    if (!m)
        throw new DerError('no PEM private key block');
    const der = base64Decode(m[2]);
    const top = expectTag(readTlv(der, 0), TAG_SEQUENCE, 'private key SEQUENCE');
    if (m[1] === 'RSA ')
        return rsaPublicPart(der, top, true);
    if (m[1] === 'EC ')
        return ecPrivatePublicPart(der, top);
    // PKCS#8: version, AlgorithmIdentifier, OCTET STRING holding the algorithm's own private key
    const [, alg, octets] = children(der, top);
    const oid = expectTag(children(der, expectTag(alg, TAG_SEQUENCE, 'AlgorithmIdentifier'))[0], TAG_OID, 'algorithm OID');
    const oidBytes = der.subarray(oid.contentStart, oid.end);
    const wrapped = expectTag(octets, TAG_OCTET_STRING, 'PKCS#8 privateKey');
    const inner = der.slice(wrapped.contentStart, wrapped.end);
    const seq = expectTag(readTlv(inner, 0), TAG_SEQUENCE, 'private key SEQUENCE');
    if (sameBytes(oidBytes, OID_RSA))
        return rsaPublicPart(inner, seq, true);
    if (sameBytes(oidBytes, OID_EC))
        return ecPrivatePublicPart(inner, seq);
    return null;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Decode(text: string): Uint8Array {
    const clean = text.replace(/[\s=]/g, '');
    if (/[^A-Za-z0-9+/]/.test(clean) || clean.length % 4 === 1)
        throw new DerError('invalid base64');
    const out = new Uint8Array(Math.floor(clean.length * 3 / 4));
    let acc = 0, bits = 0, o = 0;
    for (const ch of clean) {
        acc = (acc << 6) | B64.indexOf(ch);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (acc >> bits) & 0xff;
        }
    }
    return out;
}

/** The DER of the first `-----BEGIN CERTIFICATE-----` block of a PEM text. */
export function pemToDer(pem: string): Uint8Array {
    const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
    if (!m)
        throw new DerError('no PEM certificate block');
    return base64Decode(m[1]);
}
