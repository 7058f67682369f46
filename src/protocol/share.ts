// kdeconnect.share.request: what a peer may ask of us, validated before any byte is written.
import {subjectOrganization} from './der.js';
import {PACKET_SHARE_REQUEST, PAYLOAD_PORT_MAX, PAYLOAD_PORT_MIN} from './limits.js';
import {parseBoolean, parseInteger} from './numbers.js';
import {Packet, makePacket} from './packet.js';

export interface BatchInfo {
    numberOfFiles?: number;
    totalPayloadSize?: number;
}

export type ShareRequest =
    /** `port` 0: an empty file that comes without a payload connection. */
    | ({kind: 'file'; filename: string; size: number; port: number; lastModified?: number; open: boolean} & BatchInfo)
    | {kind: 'text'; text: string}
    | {kind: 'url'; url: string}
    | ({kind: 'update'} & BatchInfo);

export class ShareError extends Error {
    override name = 'ShareError';
}

function batchInfo(body: Record<string, unknown>): BatchInfo {
    const info: BatchInfo = {};
    const n = parseInteger(body.numberOfFiles);
    if (n !== undefined && n > 0)
        info.numberOfFiles = n;
    const total = parseInteger(body.totalPayloadSize);
    if (total !== undefined && total >= 0)
        info.totalPayloadSize = total;
    return info;
}

/** Validates a share request or update; throws ShareError with the reason for refusing it. */
export function parseShareRequest(packet: Packet): ShareRequest {
    const b = packet.body;
    if (packet.type !== PACKET_SHARE_REQUEST)
        return {kind: 'update', ...batchInfo(b)};
    if (b.filename !== undefined && b.filename !== null) {
        if (typeof b.filename !== 'string')
            throw new ShareError('filename is not a string');
        const lastModified = parseInteger(b.lastModified);
        const common = {
            filename: b.filename, open: parseBoolean(b.open) ?? false,
            ...lastModified !== undefined && lastModified > 0 ? {lastModified} : {},
            ...batchInfo(b),
        };
        // kdeconnectd sends an empty file without a payload (a payload of size 0 is no payload)
        if (!packet.payloadTransferInfo && (packet.payloadSize === undefined || packet.payloadSize === 0))
            return {kind: 'file', size: 0, port: 0, ...common};
        if (packet.payloadSize === undefined)
            throw new ShareError(`"${b.filename}" comes without payloadSize`);
        if (packet.payloadSize < -1)
            throw new ShareError(`"${b.filename}" has a negative payloadSize`);
        const port = packet.payloadTransferInfo?.port;
        if (port === undefined)
            throw new ShareError(`"${b.filename}" comes without payloadTransferInfo`);
        if (port < PAYLOAD_PORT_MIN || port > PAYLOAD_PORT_MAX)
            throw new ShareError(`"${b.filename}" announces payload port ${port}, outside ${PAYLOAD_PORT_MIN}–${PAYLOAD_PORT_MAX}`);
        return {kind: 'file', size: packet.payloadSize, port, ...common};
    }
    if (typeof b.text === 'string')
        return {kind: 'text', text: b.text};
    if (typeof b.url === 'string') {
        if (!/^[a-z][a-z0-9+.-]*:/i.test(b.url))
            throw new ShareError(`"${b.url}" is not a URL`);
        return {kind: 'url', url: b.url};
    }
    throw new ShareError('share request with neither filename, text nor url');
}

/**
 * A file announcement. `port` null: an empty file announced without a payload, as kdeconnectd
 * does (no payloadSize, no payloadTransferInfo). kdeconnectd ≥ 26.04 connects to any
 * announced payload port and then waits for bytes that an empty file never brings, which
 * stalls the rest of its batch.
 */
export function fileShareRequest(f: {filename: string; size: number; port: number | null; lastModified: number;
    numberOfFiles: number; totalPayloadSize: number}): Packet {
    const packet = makePacket(PACKET_SHARE_REQUEST, {
        filename: f.filename, lastModified: f.lastModified, open: false,
        numberOfFiles: f.numberOfFiles, totalPayloadSize: f.totalPayloadSize,
    });
    if (f.port !== null) {
        packet.payloadSize = f.size;
        packet.payloadTransferInfo = {port: f.port};
    }
    return packet;
}

/**
 * Whether a peer is GSConnect, by its certificate (O=andyholmes.github.io, OU=GSConnect), for
 * two things it does unlike KDE Connect as a receiver: it reads a file announcement without
 * payloadTransferInfo as a file to upload, and fails, so an empty file needs an empty payload;
 * and it closes a payload connection only when its garbage collector finalises it, so its
 * TCP acknowledgement of the whole stream is the only confirmation it gives.
 */
export function isGSConnectCertificate(peerCertificateDer: Uint8Array): boolean {
    try {
        const {o, ou} = subjectOrganization(peerCertificateDer);
        return o.includes('andyholmes.github.io') || ou.includes('GSConnect');
    } catch {
        return false;
    }
}

/**
 * How long to wait, after a receiver confirmed a file, before announcing the next one.
 * kdeconnectd 22.12 (protocol 7) takes the bytes and closes the payload connection at once,
 * but writes the file afterwards; a file announced meanwhile waits in its queue, its payload
 * connection reaches its end before its job starts, and that job then never finishes (the file
 * stays `NAME.part`). Measured here: its write of a 24 MiB file ended 130–615 ms after its close.
 * So to protocol 7 KDE Connect receivers the next file goes after a pause of 100 ms plus 100 ms
 * a MiB (10 MB/s: four times the slowest write measured); to everyone else at once.
 */
/**
 * Files of one device fetched at once. A sender that announces the next file before the last
 * one's payload connection is closed (kdeconnectd does, right after its last byte; Ferry's sender,
 * to a Ferry, as soon as fewer than this many of its files are unconfirmed) has it set up meanwhile.
 */
export const FETCHES_PER_DEVICE = 2;

/**
 * Ferry's own packet: how many announced files its receiver fetches at once. A Ferry receiving
 * files sends it once per link, in answer to the first file announced on it; only a sender that
 * heard it overlaps files. Not in the identity packet: kdeconnectd 26.08 took Ferry's small files
 * 13 % slower (4 of 4 paired runs) while the identity carried one field more. A kdeconnectd or
 * GSConnect sender drops it as an unknown packet.
 */
export const PACKET_FERRY_FETCHES = 'ferry.share.fetches';

/** The most a device may say it fetches at once; more says nothing (1). */
const MAX_FETCHES_AT_ONCE = 16;

export function fetchesPacket(fetchesAtOnce: number): Packet {
    return makePacket(PACKET_FERRY_FETCHES, {fetchesAtOnce});
}

/** How many files at once a PACKET_FERRY_FETCHES says; 1 for anything that is not a number in 1–16. */
export function parseFetches(packet: Packet): number {
    const n = parseInteger(packet.body.fetchesAtOnce);
    return n !== undefined && n >= 1 && n <= MAX_FETCHES_AT_ONCE ? n : 1;
}

export function pauseBeforeNextFileMs(protocolVersion: number, gsconnect: boolean, size: number): number {
    if (protocolVersion >= 8 || gsconnect)
        return 0;
    return 100 + Math.ceil(size / (1024 * 1024) * 100);
}
