// Multicast DNS (RFC 6762/6763) messages for KDE Connect's service, `_kdeconnect._udp.local`:
// the few record types discovery needs (PTR, SRV, TXT, A), encoded and decoded without trusting
// a byte of the input. Pure: no sockets here (src/net/mdns.ts sends and receives).

export const MDNS_PORT = 5353;
export const MDNS_GROUP = '224.0.0.251';
export const KDECONNECT_SERVICE = '_kdeconnect._udp.local';

export const TYPE_A = 1, TYPE_PTR = 12, TYPE_TXT = 16, TYPE_SRV = 33, TYPE_ANY = 255;
const CLASS_IN = 1;
/** In a question: a unicast answer is wanted (QU). In a record: the cache-flush bit of a unique record. */
const TOP_BIT = 0x8000;

/** The largest message considered (RFC 6762 §17: 9000 bytes over Ethernet jumbo frames). */
export const MAX_MESSAGE_BYTES = 9000;
/** More entries than any real answer about a handful of devices has. */
const MAX_ENTRIES = 64;
/** Compression pointers followed in one name: a loop ends here. */
const MAX_POINTERS = 16;
const MAX_NAME_BYTES = 255;

export class MdnsError extends Error {
    override name = 'MdnsError';
}

export interface Question {
    name: string;
    type: number;
    /** The QU bit: the asker wants the answer sent to it directly. */
    unicast: boolean;
}

export interface ServiceRecord {
    port: number;
    target: string;
}

export interface ResourceRecord {
    name: string;
    type: number;
    ttl: number;
    /** PTR: the name pointed to. */
    ptr?: string;
    srv?: ServiceRecord;
    txt?: Record<string, string>;
    /** A: dotted quad. */
    a?: string;
}

export interface Message {
    response: boolean;
    questions: Question[];
    /** Answers, authority and additional records together. */
    records: ResourceRecord[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', {fatal: false});

/** DNS names compare without regard to ASCII case. */
export function sameName(a: string, b: string): boolean {
    return a.toLowerCase() === b.toLowerCase();
}

class Reader {
    private pos = 0;

    constructor(private readonly data: Uint8Array) {}

    get offset(): number {
        return this.pos;
    }

    need(n: number): void {
        if (this.pos + n > this.data.length)
            throw new MdnsError(`truncated message: ${n} bytes wanted at offset ${this.pos} of ${this.data.length}`);
    }

    u8(): number {
        this.need(1);
        return this.data[this.pos++];
    }

    u16(): number {
        this.need(2);
        const v = (this.data[this.pos] << 8) | this.data[this.pos + 1];
        this.pos += 2;
        return v;
    }

    u32(): number {
        return this.u16() * 65536 + this.u16();
    }

    bytes(n: number): Uint8Array {
        this.need(n);
        const b = this.data.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
    }

    skip(n: number): void {
        this.need(n);
        this.pos += n;
    }

    /** A possibly compressed name; pointers must point backwards and are followed at most MAX_POINTERS times. */
    name(): string {
        const labels: string[] = [];
        let pos = this.pos, jumped = false, pointers = 0, length = 0;
        for (;;) {
            if (pos >= this.data.length)
                throw new MdnsError('truncated name');
            const len = this.data[pos];
            if ((len & 0xc0) === 0xc0) {
                if (pos + 1 >= this.data.length)
                    throw new MdnsError('truncated name pointer');
                const target = ((len & 0x3f) << 8) | this.data[pos + 1];
                if (!jumped)
                    this.pos = pos + 2;
                if (target >= pos || ++pointers > MAX_POINTERS)
                    throw new MdnsError('name compression loop');
                jumped = true;
                pos = target;
                continue;
            }
            if (len & 0xc0)
                throw new MdnsError(`unknown label type 0x${(len & 0xc0).toString(16)}`);
            if (len === 0) {
                if (!jumped)
                    this.pos = pos + 1;
                return labels.join('.');
            }
            if (pos + 1 + len > this.data.length)
                throw new MdnsError('truncated label');
            length += len + 1;
            if (length > MAX_NAME_BYTES)
                throw new MdnsError('name longer than 255 bytes');
            labels.push(decoder.decode(this.data.subarray(pos + 1, pos + 1 + len)));
            pos += 1 + len;
        }
    }
}

function parseTxt(data: Uint8Array): Record<string, string> {
    const txt: Record<string, string> = {};
    for (let i = 0; i < data.length;) {
        const len = data[i];
        if (i + 1 + len > data.length)
            throw new MdnsError('truncated TXT string');
        const entry = decoder.decode(data.subarray(i + 1, i + 1 + len));
        i += 1 + len;
        const eq = entry.indexOf('=');
        const key = (eq < 0 ? entry : entry.slice(0, eq)).toLowerCase();
        // RFC 6763 §6.4: the first occurrence of a key counts
        if (key && !(key in txt))
            txt[key] = eq < 0 ? '' : entry.slice(eq + 1);
    }
    return txt;
}

/** Decodes a message; throws MdnsError for anything malformed, oversized or truncated. */
export function decodeMessage(data: Uint8Array): Message {
    if (data.length > MAX_MESSAGE_BYTES)
        throw new MdnsError(`message of ${data.length} bytes (at most ${MAX_MESSAGE_BYTES})`);
    const r = new Reader(data);
    r.u16(); // id: 0 in multicast DNS, ignored
    const flags = r.u16();
    const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
    if (counts.reduce((a, b) => a + b, 0) > MAX_ENTRIES)
        throw new MdnsError(`${counts.reduce((a, b) => a + b, 0)} entries (at most ${MAX_ENTRIES})`);
    const questions: Question[] = [];
    for (let i = 0; i < counts[0]; i++) {
        const name = r.name();
        const type = r.u16();
        const cls = r.u16();
        questions.push({name, type, unicast: (cls & TOP_BIT) !== 0});
    }
    const records: ResourceRecord[] = [];
    for (let i = 0; i < counts[1] + counts[2] + counts[3]; i++) {
        const name = r.name();
        const type = r.u16();
        r.u16(); // class, with the cache-flush bit
        const ttl = r.u32();
        const length = r.u16();
        r.need(length);
        const end = r.offset + length;
        const record: ResourceRecord = {name, type, ttl};
        if (type === TYPE_PTR) {
            record.ptr = r.name();
        } else if (type === TYPE_SRV) {
            r.u16(); // priority
            r.u16(); // weight
            record.srv = {port: r.u16(), target: r.name()};
        } else if (type === TYPE_TXT) {
            record.txt = parseTxt(r.bytes(length));
        } else if (type === TYPE_A && length === 4) {
            record.a = Array.from(r.bytes(4)).join('.');
        } else {
            r.skip(length);
        }
        if (r.offset !== end)
            throw new MdnsError(`record data of ${name} is not ${length} bytes long`);
        records.push(record);
    }
    return {response: (flags & TOP_BIT) !== 0, questions, records};
}

class Writer {
    private readonly parts: number[] = [];

    u8(v: number): void {
        this.parts.push(v & 0xff);
    }

    u16(v: number): void {
        this.parts.push((v >> 8) & 0xff, v & 0xff);
    }

    u32(v: number): void {
        this.u16(Math.floor(v / 65536));
        this.u16(v % 65536);
    }

    bytes(b: Uint8Array): void {
        for (const x of b)
            this.parts.push(x);
    }

    /** Uncompressed: our messages are small, and every reader handles plain names. */
    name(name: string): void {
        for (const label of name.split('.').filter(l => l.length > 0)) {
            const b = encoder.encode(label);
            if (b.length > 63)
                throw new MdnsError(`label longer than 63 bytes: ${label}`);
            this.u8(b.length);
            this.bytes(b);
        }
        this.u8(0);
    }

    get length(): number {
        return this.parts.length;
    }

    patch16(at: number, v: number): void {
        this.parts[at] = (v >> 8) & 0xff;
        this.parts[at + 1] = v & 0xff;
    }

    done(): Uint8Array {
        return Uint8Array.from(this.parts);
    }
}

/** A query for each of `questions` (PTR of the KDE Connect service, typically). */
export function encodeQuery(questions: Question[]): Uint8Array {
    const w = new Writer();
    w.u16(0);
    w.u16(0);
    w.u16(questions.length);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    for (const q of questions) {
        w.name(q.name);
        w.u16(q.type);
        w.u16(CLASS_IN | (q.unicast ? TOP_BIT : 0));
    }
    return w.done();
}

function encodeRecord(w: Writer, r: ResourceRecord, unique: boolean): void {
    w.name(r.name);
    w.u16(r.type);
    w.u16(CLASS_IN | (unique ? TOP_BIT : 0));
    w.u32(r.ttl);
    const lengthAt = w.length;
    w.u16(0);
    const start = w.length;
    if (r.ptr !== undefined) {
        w.name(r.ptr);
    } else if (r.srv) {
        w.u16(0);
        w.u16(0);
        w.u16(r.srv.port);
        w.name(r.srv.target);
    } else if (r.txt) {
        for (const [k, v] of Object.entries(r.txt)) {
            const b = encoder.encode(`${k}=${v}`);
            if (b.length > 255)
                throw new MdnsError(`TXT entry longer than 255 bytes: ${k}`);
            w.u8(b.length);
            w.bytes(b);
        }
    } else if (r.a) {
        for (const part of r.a.split('.'))
            w.u8(Number(part));
    }
    w.patch16(lengthAt, w.length - start);
}

/** What a KDE Connect device announces about itself (as kdeconnectd does: instance name = device id). */
export interface ServiceAnnouncement {
    deviceId: string;
    deviceName: string;
    deviceType: string;
    protocolVersion: number;
    port: number;
    /** `<host>.local`, the SRV target. */
    host: string;
    /** IPv4 addresses of `host`. */
    addresses: string[];
    /** 0 withdraws the records (a goodbye). */
    ttl: number;
}

export function instanceName(deviceId: string): string {
    return `${deviceId}.${KDECONNECT_SERVICE}`;
}

/** The records of `a`: the PTR answer, SRV and TXT of the instance, A of its host. */
export function announcementRecords(a: ServiceAnnouncement): ResourceRecord[] {
    const instance = instanceName(a.deviceId);
    return [
        {name: KDECONNECT_SERVICE, type: TYPE_PTR, ttl: a.ttl, ptr: instance},
        {name: instance, type: TYPE_SRV, ttl: a.ttl, srv: {port: a.port, target: a.host}},
        {name: instance, type: TYPE_TXT, ttl: a.ttl,
            txt: {id: a.deviceId, name: a.deviceName, type: a.deviceType, protocol: String(a.protocolVersion)}},
        ...a.addresses.map(addr => ({name: a.host, type: TYPE_A, ttl: a.ttl, a: addr})),
    ];
}

/** A response carrying `records` (the PTR is shared, the others unique: RFC 6762 §10.2). */
export function encodeResponse(records: ResourceRecord[]): Uint8Array {
    const w = new Writer();
    w.u16(0);
    w.u16(0x8400); // response, authoritative
    w.u16(0);
    w.u16(records.length);
    w.u16(0);
    w.u16(0);
    for (const r of records)
        encodeRecord(w, r, r.type !== TYPE_PTR);
    return w.done();
}

/** Whether `m` asks for our service or our instance. */
export function asksForService(m: Message, deviceId: string): Question | null {
    if (m.response)
        return null;
    const instance = instanceName(deviceId);
    return m.questions.find(q => (q.type === TYPE_PTR || q.type === TYPE_ANY) && sameName(q.name, KDECONNECT_SERVICE) ||
        (q.type === TYPE_SRV || q.type === TYPE_TXT || q.type === TYPE_ANY) && sameName(q.name, instance)) ?? null;
}

/** A KDE Connect device a response tells of. */
export interface FoundService {
    deviceId: string;
    /** The SRV port; kdeconnectd 26.08 announces 0, which means its UDP identity port, 1716. */
    port: number;
    /** The A record of its host, when the response carried one. */
    address: string | null;
    /** 0: the device withdrew its announcement. */
    ttl: number;
}

/** The devices whose PTR records `m` carries, with what the same message says of them. */
export function foundServices(m: Message): FoundService[] {
    if (!m.response)
        return [];
    const found: FoundService[] = [];
    for (const ptr of m.records) {
        if (ptr.type !== TYPE_PTR || !ptr.ptr || !sameName(ptr.name, KDECONNECT_SERVICE))
            continue;
        const instance = ptr.ptr;
        const suffix = `.${KDECONNECT_SERVICE}`;
        if (!instance.toLowerCase().endsWith(suffix))
            continue;
        const txt = m.records.find(r => r.type === TYPE_TXT && sameName(r.name, instance))?.txt;
        const srv = m.records.find(r => r.type === TYPE_SRV && sameName(r.name, instance))?.srv;
        const a = srv ? m.records.find(r => r.type === TYPE_A && sameName(r.name, srv.target))?.a : undefined;
        const deviceId = txt?.id || instance.slice(0, instance.length - suffix.length);
        found.push({deviceId, port: srv?.port || 1716, address: a ?? null, ttl: ptr.ttl});
    }
    return found;
}
