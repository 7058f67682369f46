import {LineSplitter, PacketError, decodePacket, encodePacket, makePacket} from '../../src/protocol/packet.js';
import {parseBoolean, parseInteger} from '../../src/protocol/numbers.js';

const enc = new TextEncoder();

describe('packet codec', () => {
    it('round-trips a packet as one line with an integer id', () => {
        const p = makePacket('kdeconnect.share.request', {filename: 'a b.txt'});
        p.payloadSize = 12;
        p.payloadTransferInfo = {port: 1739};
        const bytes = encodePacket(p);
        expect(bytes[bytes.length - 1]).toBe(10);
        expect(bytes.slice(0, -1).includes(10)).toBeFalse();
        const back = decodePacket(bytes.slice(0, -1));
        expect(back).toEqual(p);
        expect(Number.isInteger(back.id)).toBeTrue();
    });

    it('gives strictly increasing ids', () => {
        const a = makePacket('x'), b = makePacket('x');
        expect(b.id).toBeGreaterThan(a.id);
    });

    it('refuses lines over the limit', () => {
        const big = JSON.stringify({id: 1, type: 't', body: {s: 'x'.repeat(9000)}});
        expect(() => decodePacket(big, 8192)).toThrowMatching(e => e instanceof PacketError && /exceeds the limit/.test(e.message));
        expect(decodePacket(big, 10000).type).toBe('t');
    });

    const malformed: [string, string | Uint8Array, RegExp][] = [
        ['not JSON', '{"id":1,"type":', /not valid JSON/],
        ['an array', '[1,2]', /not a JSON object/],
        ['null', 'null', /not a JSON object/],
        ['missing type', '{"id":1,"body":{}}', /no type/],
        ['empty type', '{"id":1,"type":"","body":{}}', /no type/],
        ['numeric type', '{"id":1,"type":5,"body":{}}', /no type/],
        ['missing body', '{"id":1,"type":"t"}', /no body/],
        ['body as array', '{"id":1,"type":"t","body":[]}', /no body/],
        ['body as string', '{"id":1,"type":"t","body":"x"}', /no body/],
        ['payloadSize below -1', '{"id":1,"type":"t","body":{},"payloadSize":-2}', /invalid payloadSize/],
        ['payloadSize as text', '{"id":1,"type":"t","body":{},"payloadSize":"big"}', /invalid payloadSize/],
        ['payloadSize fractional', '{"id":1,"type":"t","body":{},"payloadSize":1.5}', /invalid payloadSize/],
        ['payloadTransferInfo not object', '{"id":1,"type":"t","body":{},"payloadTransferInfo":3}', /invalid payloadTransferInfo/],
        ['payload port out of range', '{"id":1,"type":"t","body":{},"payloadTransferInfo":{"port":70000}}', /invalid payload port/],
        ['invalid UTF-8', new Uint8Array([123, 0xff, 0xfe, 125]), /not valid UTF-8/],
    ];
    for (const [what, line, reason] of malformed) {
        it(`refuses ${what} with a reason`, () => {
            expect(() => decodePacket(line)).toThrowMatching(e => e instanceof PacketError && reason.test(e.message));
        });
    }

    it('reads numbers sent as strings', () => {
        const p = decodePacket('{"id":"1700000000000","type":"t","body":{},"payloadSize":"42","payloadTransferInfo":{"port":"1740"}}');
        expect(p.id).toBe(1700000000000);
        expect(p.payloadSize).toBe(42);
        expect(p.payloadTransferInfo).toEqual({port: 1740});
    });

    it('accepts payloadSize -1 (unknown length)', () => {
        expect(decodePacket('{"id":1,"type":"t","body":{},"payloadSize":-1}').payloadSize).toBe(-1);
    });

    it('keeps unknown types (the engine ignores them) and tolerates a missing id', () => {
        const p = decodePacket('{"type":"kdeconnect.unknown.thing","body":{"a":1}}');
        expect(p.type).toBe('kdeconnect.unknown.thing');
        expect(p.id).toBe(0);
    });

    it('parses numbers and booleans leniently but not loosely', () => {
        expect(parseInteger(8)).toBe(8);
        expect(parseInteger('8')).toBe(8);
        expect(parseInteger(' -1 ')).toBe(-1);
        expect(parseInteger('8a')).toBeUndefined();
        expect(parseInteger(1.5)).toBeUndefined();
        expect(parseInteger(null)).toBeUndefined();
        expect(parseInteger('99999999999999999')).toBeUndefined();
        expect(parseBoolean('true')).toBeTrue();
        expect(parseBoolean(false)).toBeFalse();
        expect(parseBoolean(1)).toBeUndefined();
    });
});

describe('line splitter', () => {
    it('joins lines split across chunks and drops empty lines', () => {
        const s = new LineSplitter(100);
        expect(s.push(enc.encode('{"a"'))).toEqual([]);
        const lines = s.push(enc.encode(':1}\n\n{"b":2}\r\n{"c"'));
        expect(lines.map(l => new TextDecoder().decode(l))).toEqual(['{"a":1}', '{"b":2}\r']);
        expect(s.buffered).toBe(4);
    });

    it('refuses a line that grows past the limit without a newline', () => {
        const s = new LineSplitter(10);
        s.push(enc.encode('12345'));
        expect(() => s.push(enc.encode('678901'))).toThrowError(PacketError, /exceeds the limit of 10 bytes/);
    });

    it('refuses a complete line over the limit', () => {
        const s = new LineSplitter(4);
        expect(() => s.push(enc.encode('12345\n'))).toThrowError(PacketError);
    });
});
