// What the identity stores hand to the engine.
import Gio from 'gi://Gio';
import {DeviceType} from '../../protocol/limits.js';

export type IdentitySource = 'gsconnect' | 'ferry';
export type IdentityChoice = 'auto' | IdentitySource;

export interface LocalIdentity {
    deviceId: string;
    certificate: Gio.TlsCertificate;
    certificatePem: string;
    /** DER SubjectPublicKeyInfo, for the verification key. */
    publicKey: Uint8Array;
    source: IdentitySource;
}

export interface TrustedDevice {
    id: string;
    name: string;
    type: DeviceType;
    certificatePem: string;
    protocolVersion?: number;
    /** Which store trusts this device. */
    source: IdentitySource;
    /** GSConnect's per-device share settings, when set there. */
    receiveDirectory?: string;
    receiveFiles?: boolean;
}
