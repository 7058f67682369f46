// Identity packets (kdeconnect.identity) for protocol versions 7 and 8.
import {
    DEVICE_ID_PATTERN, DEVICE_TYPES, DeviceType, MIN_PROTOCOL_VERSION, PACKET_IDENTITY,
    TCP_PORT_MAX, TCP_PORT_MIN,
} from './limits.js';
import {sanitizeDeviceName} from './names.js';
import {parseInteger} from './numbers.js';
import {Packet, PacketError, makePacket} from './packet.js';

export interface Identity {
    deviceId: string;
    deviceName: string;
    deviceType: DeviceType;
    protocolVersion: number;
    incomingCapabilities: string[];
    outgoingCapabilities: string[];
    tcpPort?: number;
    targetDeviceId?: string;
    targetProtocolVersion?: number;
}

export function isValidDeviceId(id: unknown): id is string {
    return typeof id === 'string' && DEVICE_ID_PATTERN.test(id);
}

/** kdeconnectd rewrites every character outside [A-Za-z0-9_] of a received id to `_`. */
export function kdeRewrittenId(id: string): string {
    return id.replace(/[^A-Za-z0-9_]/g, '_');
}

export function normalizeDeviceType(type: unknown): DeviceType {
    if (type === 'smartphone')
        return 'phone';
    return (DEVICE_TYPES as readonly unknown[]).includes(type) ? type as DeviceType : 'desktop';
}

function stringList(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export interface OwnIdentity {
    deviceId: string;
    deviceName: string;
    deviceType: DeviceType;
    protocolVersion: number;
    incomingCapabilities: string[];
    outgoingCapabilities: string[];
}

/** Builds our identity packet; `extra` adds tcpPort (UDP) or the target fields (TCP). */
export function makeIdentityPacket(own: OwnIdentity, extra: {
    tcpPort?: number; targetDeviceId?: string; targetProtocolVersion?: number;
} = {}): Packet {
    const body: Record<string, unknown> = {
        deviceId: own.deviceId,
        deviceName: sanitizeDeviceName(own.deviceName) || 'Ferry',
        deviceType: own.deviceType,
        protocolVersion: own.protocolVersion,
        incomingCapabilities: own.incomingCapabilities,
        outgoingCapabilities: own.outgoingCapabilities,
    };
    if (extra.tcpPort !== undefined)
        body.tcpPort = extra.tcpPort;
    if (extra.targetDeviceId !== undefined)
        body.targetDeviceId = extra.targetDeviceId;
    if (extra.targetProtocolVersion !== undefined)
        body.targetProtocolVersion = extra.targetProtocolVersion;
    return makePacket(PACKET_IDENTITY, body);
}

/** Validates a received identity packet; throws PacketError with the reason when it is invalid. */
export function parseIdentity(packet: Packet): Identity {
    if (packet.type !== PACKET_IDENTITY)
        throw new PacketError(`expected an identity packet, got ${packet.type}`);
    const b = packet.body;
    if (!isValidDeviceId(b.deviceId))
        throw new PacketError('identity has an invalid deviceId');
    const deviceName = typeof b.deviceName === 'string' ? sanitizeDeviceName(b.deviceName) : '';
    if (!deviceName)
        throw new PacketError(`identity of ${b.deviceId} has no valid deviceName`);
    const protocolVersion = parseInteger(b.protocolVersion);
    if (protocolVersion === undefined || protocolVersion < MIN_PROTOCOL_VERSION)
        throw new PacketError(`identity of ${b.deviceId} has unsupported protocolVersion ${String(b.protocolVersion)}`);
    const identity: Identity = {
        deviceId: b.deviceId,
        deviceName,
        deviceType: normalizeDeviceType(b.deviceType),
        protocolVersion,
        incomingCapabilities: stringList(b.incomingCapabilities),
        outgoingCapabilities: stringList(b.outgoingCapabilities),
    };
    const tcpPort = parseInteger(b.tcpPort);
    if (tcpPort !== undefined && tcpPort >= TCP_PORT_MIN && tcpPort <= TCP_PORT_MAX)
        identity.tcpPort = tcpPort;
    if (typeof b.targetDeviceId === 'string')
        identity.targetDeviceId = b.targetDeviceId;
    const target = parseInteger(b.targetProtocolVersion);
    if (target !== undefined)
        identity.targetProtocolVersion = target;
    return identity;
}

/** Both sides speak protocol 8 only when both announced at least 8. */
export function negotiatedVersion(ours: number, theirs: number): number {
    return Math.min(ours, theirs);
}

/**
 * Protocol 8: the identity sent inside TLS must repeat the id and version of the plaintext one.
 * Returns the reason for a mismatch, or null.
 */
export function encryptedIdentityMismatch(plain: Identity, encrypted: Identity): string | null {
    if (encrypted.deviceId !== plain.deviceId)
        return `device id changed from ${plain.deviceId} to ${encrypted.deviceId} inside TLS`;
    if (encrypted.protocolVersion !== plain.protocolVersion)
        return `protocol version changed from ${plain.protocolVersion} to ${encrypted.protocolVersion} inside TLS`;
    return null;
}
