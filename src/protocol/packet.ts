// The packet codec: one JSON object per line, with integer `id`, string `type`, object `body`,
// and optionally `payloadSize` and `payloadTransferInfo`.
import {MAX_PACKET_BYTES} from './limits.js';
import {parseInteger} from './numbers.js';

export type Body = Record<string, unknown>;

export interface Packet {
    id: number;
    type: string;
    body: Body;
    payloadSize?: number;
    payloadTransferInfo?: {port: number};
}

export class PacketError extends Error {
    override name = 'PacketError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', {fatal: true});

let lastId = 0;
/** Epoch milliseconds as peers use them, strictly increasing within this process. */
export function nextPacketId(now = Date.now()): number {
    lastId = Math.max(lastId + 1, now);
    return lastId;
}

export function makePacket(type: string, body: Body = {}): Packet {
    return {id: nextPacketId(), type, body};
}

/** Serialises a packet as one line, newline included. */
export function encodePacket(packet: Packet): Uint8Array {
    return encoder.encode(`${JSON.stringify(packet)}\n`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses one line (without its newline). Throws PacketError with the reason when the line is
 * too long, not UTF-8, not JSON, or lacks a string `type` or an object `body`.
 */
export function decodePacket(line: Uint8Array | string, maxBytes = MAX_PACKET_BYTES): Packet {
    const size = typeof line === 'string' ? encoder.encode(line).length : line.length;
    if (size > maxBytes)
        throw new PacketError(`packet of ${size} bytes exceeds the limit of ${maxBytes}`);
    let text: string;
    try {
        text = typeof line === 'string' ? line : decoder.decode(line);
    } catch {
        throw new PacketError('packet is not valid UTF-8');
    }
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (e) {
        throw new PacketError(`packet is not valid JSON: ${(e as Error).message}`);
    }
    if (!isPlainObject(raw))
        throw new PacketError('packet is not a JSON object');
    if (typeof raw.type !== 'string' || raw.type.length === 0)
        throw new PacketError('packet has no type');
    if (!isPlainObject(raw.body))
        throw new PacketError(`packet ${raw.type} has no body object`);
    // iOS sends seconds, others milliseconds, some strings; nobody relies on it, so tolerate.
    const id = parseInteger(raw.id) ?? 0;
    const packet: Packet = {id, type: raw.type, body: raw.body};
    if (raw.payloadSize !== undefined && raw.payloadSize !== null) {
        const size = parseInteger(raw.payloadSize);
        if (size === undefined || size < -1)
            throw new PacketError(`packet ${raw.type} has an invalid payloadSize`);
        packet.payloadSize = size;
    }
    if (raw.payloadTransferInfo !== undefined && raw.payloadTransferInfo !== null) {
        if (!isPlainObject(raw.payloadTransferInfo))
            throw new PacketError(`packet ${raw.type} has an invalid payloadTransferInfo`);
        const port = parseInteger(raw.payloadTransferInfo.port);
        if (port === undefined || port < 1 || port > 65535)
            throw new PacketError(`packet ${raw.type} has an invalid payload port`);
        packet.payloadTransferInfo = {port};
    }
    return packet;
}

/**
 * Splits a byte stream into lines with a bound on the line length, so that a peer that never
 * sends a newline cannot make us buffer without limit.
 */
export class LineSplitter {
    private chunks: Uint8Array[] = [];
    private pending = 0;

    constructor(private maxBytes: number) {}

    setLimit(maxBytes: number): void {
        this.maxBytes = maxBytes;
    }

    /** Bytes buffered that do not yet form a line. */
    get buffered(): number {
        return this.pending;
    }

    /** Feeds bytes; returns the complete lines (without newline, empty lines dropped). */
    push(data: Uint8Array): Uint8Array[] {
        const lines: Uint8Array[] = [];
        let start = 0;
        for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, start)) {
            const line = this.take(data.subarray(start, i));
            if (line.length > 0 && !(line.length === 1 && line[0] === 13))
                lines.push(line);
            start = i + 1;
        }
        if (start < data.length) {
            this.pending += data.length - start;
            if (this.pending > this.maxBytes)
                throw new PacketError(`line exceeds the limit of ${this.maxBytes} bytes`);
            this.chunks.push(data.slice(start));
        }
        return lines;
    }

    private take(tail: Uint8Array): Uint8Array {
        if (this.pending + tail.length > this.maxBytes)
            throw new PacketError(`line exceeds the limit of ${this.maxBytes} bytes`);
        if (this.chunks.length === 0)
            return tail.slice();
        const out = new Uint8Array(this.pending + tail.length);
        let off = 0;
        for (const c of this.chunks) {
            out.set(c, off);
            off += c.length;
        }
        out.set(tail, off);
        this.chunks = [];
        this.pending = 0;
        return out;
    }
}
