// The pairing verification key both sides show: SHA-256 over the two public keys (DER
// SubjectPublicKeyInfo, bytewise-larger first) and, in protocol 8, the pair request's timestamp
// in decimal; the first 8 hex digits, upper-case.
import {sha256, toHex} from './sha256.js';

/** Lexicographic byte comparison, a shorter prefix sorting first (QByteArray's operator<). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
        if (a[i] !== b[i])
            return a[i] - b[i];
    }
    return a.length - b.length;
}

export function verificationKey(ourSpki: Uint8Array, peerSpki: Uint8Array, timestamp?: number): string {
    const [first, second] = compareBytes(ourSpki, peerSpki) >= 0 ? [ourSpki, peerSpki] : [peerSpki, ourSpki];
    const stamp = timestamp === undefined ? new Uint8Array() : new TextEncoder().encode(String(timestamp));
    const data = new Uint8Array(first.length + second.length + stamp.length);
    data.set(first, 0);
    data.set(second, first.length);
    data.set(stamp, first.length + second.length);
    return toHex(sha256(data)).slice(0, 8).toUpperCase();
}
