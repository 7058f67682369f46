import GLib from 'gi://GLib';
import {KDECONNECT_SERVICE, MdnsError, TYPE_A, TYPE_PTR, TYPE_SRV, TYPE_TXT, announcementRecords, asksForService,
    decodeMessage, encodeQuery, encodeResponse, foundServices, instanceName} from '../../src/protocol/mdns.js';
import {CAPTURED_KDECONNECTD_26_08} from './mdnsCaptures.js';
import {prng} from '../lib/prng.js';

const ID = '0123456789abcdef0123456789abcdef';
const announcement = {deviceId: ID, deviceName: 'Desk top', deviceType: 'desktop', protocolVersion: 8, port: 1716,
    host: `${ID}.local`, addresses: ['10.1.2.3'], ttl: 120};

function hex(s: string): Uint8Array {
    const clean = s.replace(/\s+/g, '');
    return Uint8Array.from(clean.match(/../g)!.map(b => parseInt(b, 16)));
}

/** A header with the given counts, then `body`. */
function message(flags: number, counts: number[], body: number[]): Uint8Array {
    const head = [0, 0, flags >> 8, flags & 0xff];
    for (const c of counts)
        head.push(c >> 8, c & 0xff);
    return Uint8Array.from([...head, ...body]);
}

describe('multicast DNS codec', () => {
    it('round-trips an announcement: PTR, SRV, TXT and A, as kdeconnectd sends them', () => {
        const m = decodeMessage(encodeResponse(announcementRecords(announcement)));
        expect(m.response).toBeTrue();
        expect(m.records.map(r => r.type)).toEqual([TYPE_PTR, TYPE_SRV, TYPE_TXT, TYPE_A]);
        expect(m.records[0]).toEqual(jasmine.objectContaining({name: KDECONNECT_SERVICE, ptr: instanceName(ID), ttl: 120}));
        expect(m.records[1].srv).toEqual({port: 1716, target: `${ID}.local`});
        expect(m.records[2].txt).toEqual({id: ID, name: 'Desk top', type: 'desktop', protocol: '8'});
        expect(m.records[3].a).toBe('10.1.2.3');
        expect(foundServices(m)).toEqual([{deviceId: ID, port: 1716, address: '10.1.2.3', ttl: 120}]);
    });

    it('round-trips a query with the QU bit, and knows a question about our service or instance', () => {
        const q = decodeMessage(encodeQuery([{name: KDECONNECT_SERVICE, type: TYPE_PTR, unicast: true}]));
        expect(q.response).toBeFalse();
        expect(q.questions).toEqual([{name: KDECONNECT_SERVICE, type: TYPE_PTR, unicast: true}]);
        expect(asksForService(q, ID)).toEqual(q.questions[0]);
        const other = decodeMessage(encodeQuery([{name: '_googlecast._tcp.local', type: TYPE_PTR, unicast: false}]));
        expect(asksForService(other, ID)).toBeNull();
        const srv = decodeMessage(encodeQuery([{name: instanceName(ID).toUpperCase(), type: TYPE_SRV, unicast: false}]));
        expect(asksForService(srv, ID)?.type).toBe(TYPE_SRV);
    });

    it('reads a captured kdeconnectd 26.08 announcement (compressed names)', () => {
        const m = decodeMessage(hex(CAPTURED_KDECONNECTD_26_08.announcement));
        const found = foundServices(m);
        expect(found.length).toBe(1);
        expect(found[0].deviceId).toBe(CAPTURED_KDECONNECTD_26_08.deviceId);
        // its SRV says port 0: the identity port it means is 1716
        expect(found[0].port).toBe(1716);
        expect(found[0].address).toBe('10.216.0.1');
        expect(m.records.find(r => r.type === TYPE_TXT)?.txt).toEqual({id: CAPTURED_KDECONNECTD_26_08.deviceId, name: 'Capture',
            type: 'desktop', protocol: '8'});
    });

    it('reads a captured kdeconnectd 26.08 query', () => {
        const m = decodeMessage(hex(CAPTURED_KDECONNECTD_26_08.query));
        expect(asksForService(m, ID)?.name).toBe(KDECONNECT_SERVICE);
    });

    it('takes the device id from TXT, else from the instance name, and ignores other services', () => {
        const records = announcementRecords(announcement).filter(r => r.type !== TYPE_TXT);
        records.push({name: '_other._udp.local', type: TYPE_PTR, ttl: 10, ptr: 'x._other._udp.local'});
        expect(foundServices(decodeMessage(encodeResponse(records))).map(f => f.deviceId)).toEqual([ID]);
    });

    const hostile: [string, Uint8Array, RegExp][] = [
        ['a compression pointer to itself', message(0x8400, [1, 0, 0, 0], [0xc0, 12, 0, 12, 0, 1]), /compression loop/],
        ['a pointer forwards', message(0x8400, [1, 0, 0, 0], [0xc0, 14, 0, 12, 0, 1, 0]), /compression loop/],
        ['a chain of pointers going round', message(0, [1, 0, 0, 0], [1, 0x61, 0xc0, 12]), /compression loop|truncated/],
        ['a truncated header', Uint8Array.from([0, 0, 0x84]), /truncated/],
        ['a truncated label', message(0, [1, 0, 0, 0], [10, 0x61, 0x62]), /truncated/],
        ['a question without its type', message(0, [1, 0, 0, 0], [1, 0x61, 0]), /truncated/],
        ['record data longer than the message', message(0x8400, [0, 1, 0, 0], [0, 0, 12, 0, 1, 0, 0, 0, 10, 0x10, 0]), /truncated/],
        ['a PTR whose name overruns its record', message(0x8400, [0, 1, 0, 0], [0, 0, 12, 0, 1, 0, 0, 0, 10, 0, 1, 3, 0x61, 0x62, 0x63, 0]),
            /not 1 bytes long/],
        ['a TXT string overrunning its record', message(0x8400, [0, 1, 0, 0], [0, 0, 16, 0, 1, 0, 0, 0, 10, 0, 2, 5, 0x61]), /truncated TXT/],
        ['thousands of records announced', message(0x8400, [0, 4000, 0, 0], []), /entries/],
        ['an oversized message', new Uint8Array(9001), /message of 9001 bytes/],
        ['a label type from RFC 6891', message(0, [1, 0, 0, 0], [0x41, 0]), /label type/],
    ];
    for (const [what, data, error] of hostile) {
        it(`refuses ${what}`, () => {
            expect(() => decodeMessage(data)).toThrowMatching(e => e instanceof MdnsError && error.test(e.message));
        });
    }

    it('refuses a name longer than 255 bytes made of pointers to long labels', () => {
        const label = [63, ...new Array(63).fill(0x61)];
        // four 64-byte labels, then a question whose name is those labels again through a pointer
        const body = [...label, ...label, ...label, ...label, 0, 0, 12, 0, 1];
        expect(() => decodeMessage(message(0, [1, 0, 0, 0], body))).toThrowMatching(e => e instanceof MdnsError && /255 bytes/.test(e.message));
    });

    it('never throws anything but MdnsError on 20 000 mutations of real messages (seed printed)', () => {
        const seed = Number(GLib.getenv('FERRY_MDNS_SEED') ?? Math.floor(Math.random() * 2 ** 31));
        print(`# mdns mutation seed ${seed} (FERRY_MDNS_SEED replays it)`);
        const next = prng(seed);
        const int = (n: number) => Math.floor(next() * n);
        const bases = [encodeResponse(announcementRecords(announcement)), hex(CAPTURED_KDECONNECTD_26_08.announcement),
            hex(CAPTURED_KDECONNECTD_26_08.query)];
        let decoded = 0;
        for (let i = 0; i < 20000; i++) {
            const data = Uint8Array.from(bases[i % bases.length]);
            for (let k = 1 + int(4); k > 0; k--)
                data[int(data.length)] = int(256);
            const cut = int(4) === 0 ? data.subarray(0, int(data.length)) : data;
            try {
                const m = decodeMessage(cut);
                foundServices(m);
                asksForService(m, ID);
                decoded++;
            } catch (e) {
                if (!(e instanceof MdnsError))
                    throw new Error(`seed ${seed}, mutation ${i}: ${e}`);
            }
        }
        expect(decoded).toBeGreaterThan(0);
    });
});
