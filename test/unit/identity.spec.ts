import {
    encryptedIdentityMismatch, isValidDeviceId, kdeRewrittenId, makeIdentityPacket, negotiatedVersion, parseIdentity,
} from '../../src/protocol/identity.js';
import {decodePacket, encodePacket} from '../../src/protocol/packet.js';
import {sanitizeDeviceName} from '../../src/protocol/names.js';

const ID = '0f3c9a51b2d84e6f9a7b1c2d3e4f5061';

function identityLine(body: Record<string, unknown>): string {
    return JSON.stringify({id: 1, type: 'kdeconnect.identity', body});
}

describe('identity packets', () => {
    it('builds a protocol 8 identity with tcpPort for UDP', () => {
        const p = makeIdentityPacket({deviceId: ID, deviceName: 'my box', deviceType: 'desktop', protocolVersion: 8,
            incomingCapabilities: ['kdeconnect.share.request'], outgoingCapabilities: ['kdeconnect.share.request']}, {tcpPort: 1716});
        expect(p.type).toBe('kdeconnect.identity');
        expect(p.body).toEqual({deviceId: ID, deviceName: 'my box', deviceType: 'desktop', protocolVersion: 8,
            incomingCapabilities: ['kdeconnect.share.request'], outgoingCapabilities: ['kdeconnect.share.request'], tcpPort: 1716});
        expect(encodePacket(p).length).toBeLessThan(8192);
    });

    it('builds a protocol 7 identity with the target fields for TCP', () => {
        const p = makeIdentityPacket({deviceId: ID, deviceName: 'x', deviceType: 'laptop', protocolVersion: 7,
            incomingCapabilities: [], outgoingCapabilities: []}, {targetDeviceId: 'a'.repeat(32), targetProtocolVersion: 7});
        expect(p.body.protocolVersion).toBe(7);
        expect(p.body.targetDeviceId).toBe('a'.repeat(32));
        expect(p.body.targetProtocolVersion).toBe(7);
        expect(p.body.tcpPort).toBeUndefined();
    });

    it('parses a kdeconnectd 25.04 (protocol 8) UDP identity', () => {
        const id = parseIdentity(decodePacket(identityLine({deviceId: ID, deviceName: 'mybox', deviceType: 'desktop',
            protocolVersion: 8, incomingCapabilities: ['kdeconnect.share.request'], outgoingCapabilities: [], tcpPort: 1716})));
        expect(id.deviceId).toBe(ID);
        expect(id.protocolVersion).toBe(8);
        expect(id.tcpPort).toBe(1716);
        expect(id.incomingCapabilities).toEqual(['kdeconnect.share.request']);
    });

    it('parses a kdeconnectd 22.12 (protocol 7) identity with an underscored 38-char id', () => {
        const old = '_8c1f0a2b_3c4d_4e5f_8a9b_0c1d2e3f4a5b_';
        expect(old.length).toBe(38);
        const id = parseIdentity(decodePacket(identityLine({deviceId: old, deviceName: 'Old KDE', deviceType: 'laptop',
            protocolVersion: 7, incomingCapabilities: [], outgoingCapabilities: [], tcpPort: 1716})));
        expect(id.protocolVersion).toBe(7);
        expect(id.deviceType).toBe('laptop');
    });

    it('parses an Android identity with the version as a string and smartphone type', () => {
        const id = parseIdentity(decodePacket(identityLine({deviceId: ID, deviceName: 'Pixel 7', deviceType: 'smartphone',
            protocolVersion: '8', targetDeviceId: 'b'.repeat(32), targetProtocolVersion: '8'})));
        expect(id.protocolVersion).toBe(8);
        expect(id.deviceType).toBe('phone');
        expect(id.targetProtocolVersion).toBe(8);
        expect(id.incomingCapabilities).toEqual([]);
    });

    it('maps unknown device types to desktop and ignores a tcpPort outside 1716–1764', () => {
        const id = parseIdentity(decodePacket(identityLine({deviceId: ID, deviceName: 'x', deviceType: 'fridge',
            protocolVersion: 8, tcpPort: 80})));
        expect(id.deviceType).toBe('desktop');
        expect(id.tcpPort).toBeUndefined();
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
        ['a short id', {deviceId: 'abc', deviceName: 'x', protocolVersion: 8}, /invalid deviceId/],
        ['an id with a slash', {deviceId: `${'a'.repeat(31)}/`, deviceName: 'x', protocolVersion: 8}, /invalid deviceId/],
        ['an id with a trailing newline', {deviceId: `${ID}\n`, deviceName: 'x', protocolVersion: 8}, /invalid deviceId/],
        ['no name', {deviceId: ID, protocolVersion: 8}, /no valid deviceName/],
        ['a name of forbidden characters only', {deviceId: ID, deviceName: '..!?', protocolVersion: 8}, /no valid deviceName/],
        ['protocol 6', {deviceId: ID, deviceName: 'x', protocolVersion: 6}, /unsupported protocolVersion/],
        ['no protocol', {deviceId: ID, deviceName: 'x'}, /unsupported protocolVersion/],
    ];
    for (const [what, body, reason] of invalid) {
        it(`refuses an identity with ${what}`, () => {
            expect(() => parseIdentity(decodePacket(identityLine(body)))).toThrowMatching(e => reason.test(e.message));
        });
    }

    it('refuses a packet of another type as identity', () => {
        expect(() => parseIdentity(decodePacket('{"id":1,"type":"kdeconnect.pair","body":{}}'))).toThrowError(/expected an identity/);
    });

    it('validates ids like the peers do', () => {
        expect(isValidDeviceId(ID)).toBeTrue();
        expect(isValidDeviceId('0f3c9a51-b2d8-4e6f-9a7b-1c2d3e4f5061')).toBeTrue();
        expect(isValidDeviceId('a'.repeat(39))).toBeFalse();
        expect(kdeRewrittenId('0f3c9a51-b2d8')).toBe('0f3c9a51_b2d8');
    });

    it('negotiates the lower version and detects changes inside TLS', () => {
        expect(negotiatedVersion(8, 7)).toBe(7);
        expect(negotiatedVersion(8, 8)).toBe(8);
        const base = {deviceId: ID, deviceName: 'a', deviceType: 'phone' as const, protocolVersion: 8,
            incomingCapabilities: [], outgoingCapabilities: []};
        expect(encryptedIdentityMismatch(base, {...base, deviceName: 'renamed'})).toBeNull();
        expect(encryptedIdentityMismatch(base, {...base, deviceId: 'b'.repeat(32)})).toMatch(/device id changed/);
        expect(encryptedIdentityMismatch(base, {...base, protocolVersion: 7})).toMatch(/protocol version changed/);
    });
});

describe('device name sanitising', () => {
    const cases: [string, string][] = [
        ['Pixel 7', 'Pixel 7'],
        ['Jan\'s "phone"', 'Jans phone'],
        ['a;b:c.d!e?f(g)h[i]j<k>l,m', 'abcdefghijklm'],
        ['tab\there\nnewline', 'tab here newline'],
        ['  padded  ', 'padded'],
        ['x'.repeat(40), 'x'.repeat(32)],
        ['Zażółć gęślą jaźń telefon Łukasza', 'Zażółć gęślą jaźń telefon Łukasz'],
        [`${'a'.repeat(31)}😀😀`, `${'a'.repeat(31)}😀`],
        ['...', ''],
    ];
    for (const [input, output] of cases) {
        it(`turns ${JSON.stringify(input)} into ${JSON.stringify(output)}`, () => {
            expect(sanitizeDeviceName(input)).toBe(output);
        });
    }
});
