// Loading our certificate and key without blocking, and reading what the protocol needs from it.
import Gio from 'gi://Gio';
import {DerError, certificatePublicPart, pemToDer, privateKeyPublicPart, subjectCommonName, subjectPublicKeyInfo} from '../../protocol/der.js';
import {isValidDeviceId} from '../../protocol/identity.js';
import {readText} from '../fs.js';
import {IdentitySource, LocalIdentity} from './types.js';

export class IdentityError extends Error {
    override name = 'IdentityError';
}

/** An identity whose private key is not the certificate's: every TLS handshake would fail with it. */
export class MismatchedIdentityError extends IdentityError {
    override name = 'MismatchedIdentityError';
}

/** `read` of the file at `path`, its DER errors naming that file. */
function readDer<T>(path: string, read: () => T): T {
    try {
        return read();
    } catch (e) {
        if (e instanceof DerError)
            throw new IdentityError(`cannot read ${path}: ${e.message}`);
        throw e;
    }
}

/**
 * Reads a certificate/key pair (EC or RSA, PEM); null when either file is missing. Refuses a key
 * that does not belong to the certificate (MismatchedIdentityError).
 */
export async function loadIdentity(certPath: string, keyPath: string, source: IdentitySource): Promise<LocalIdentity | null> {
    const [certPem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)]);
    if (certPem === null || keyPem === null)
        return null;
    const keyPart = readDer(keyPath, () => privateKeyPublicPart(keyPem));
    const certPart = readDer(certPath, () => certificatePublicPart(pemToDer(certPem)));
    // null: a form whose public half cannot be told from the key alone; GnuTLS still has the last word
    if (keyPart !== null && certPart !== null && keyPart !== certPart)
        throw new MismatchedIdentityError(`${keyPath} is not the private key of ${certPath}`);
    let certificate: Gio.TlsCertificate;
    try {
        certificate = Gio.TlsCertificate.new_from_pem(`${certPem.trim()}\n${keyPem.trim()}\n`, -1);
    } catch (e) {
        throw new IdentityError(`cannot load ${certPath} with ${keyPath}: ${(e as Error).message}`);
    }
    const der = pemToDer(certPem);
    const cn = subjectCommonName(der);
    if (!isValidDeviceId(cn))
        throw new IdentityError(`${certPath}: common name ${cn ?? '(none)'} is not a valid device id`);
    return {deviceId: cn, certificate, certificatePem: certPem, publicKey: subjectPublicKeyInfo(der), source};
}

export function publicKeyOfPem(pem: string): Uint8Array {
    return subjectPublicKeyInfo(pemToDer(pem));
}

export function certificateFromPem(pem: string): Gio.TlsCertificate | null {
    try {
        return Gio.TlsCertificate.new_from_pem(pem, -1);
    } catch {
        return null;
    }
}

const parsed = new Map<string, Gio.TlsCertificate | null>();

/**
 * certificateFromPem for a paired device's certificate, parsed once: every file of a batch
 * needs it (0.24 ms a parse, measured). The few most recent are kept.
 */
export function peerCertificateFromPem(pem: string): Gio.TlsCertificate | null {
    let cert = parsed.get(pem);
    if (cert === undefined)
        cert = certificateFromPem(pem);
    parsed.delete(pem);
    parsed.set(pem, cert);
    if (parsed.size > 16)
        parsed.delete(parsed.keys().next().value ?? '');
    return cert;
}
