// A small DER reader: just enough X.509 to take the SubjectPublicKeyInfo and the subject CN out
// of a certificate. Gio exposes neither the public key nor (before GLib 2.70) the subject.

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
const TAG_CONTEXT_0 = 0xa0;
const OID_COMMON_NAME = [0x55, 0x04, 0x03];

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
        throw new DerError(`certificate: expected ${what}`);
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

/** The subject's commonName, or null when it has none. */
export function subjectCommonName(certDer: Uint8Array): string | null {
    const {subject} = tbsParts(certDer);
    for (const rdn of children(certDer, subject)) {
        expectTag(rdn, TAG_SET, 'RelativeDistinguishedName SET');
        for (const atv of children(certDer, rdn)) {
            const [oid, value] = children(certDer, expectTag(atv, TAG_SEQUENCE, 'AttributeTypeAndValue'));
            expectTag(oid, TAG_OID, 'attribute OID');
            const oidBytes = certDer.subarray(oid.contentStart, oid.end);
            if (value && oidBytes.length === 3 && OID_COMMON_NAME.every((b, k) => oidBytes[k] === b))
                return new TextDecoder().decode(certDer.subarray(value.contentStart, value.end));
        }
    }
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
