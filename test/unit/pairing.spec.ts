import {PairingState} from '../../src/protocol/pairing.js';
import {BucketLimiter, IntervalLimiter, LogThrottle} from '../../src/protocol/rateLimit.js';
import {parseFibTrieBroadcasts, parseFibTrieLocals} from '../../src/net/interfaces.js';

const NOW = 1764000000;

describe('pairing state machine', () => {
    it('v8: our request carries a timestamp and the peer\'s accept pairs', () => {
        const p = new PairingState(false, 8);
        const step = p.request(NOW + 0.7);
        expect(step).toEqual({send: {pair: true, timestamp: NOW}, event: 'requested'});
        expect(p.timestamp).toBe(NOW);
        expect(p.receive({pair: true}, NOW + 3)).toEqual({event: 'paired'});
        expect(p.state).toBe('paired');
    });

    it('v7: the request has no timestamp', () => {
        const p = new PairingState(false, 7);
        expect(p.request(NOW).send).toEqual({pair: true});
        expect(p.timestamp).toBeUndefined();
    });

    it('the peer\'s request waits for the user, who accepts', () => {
        const p = new PairingState(false, 8);
        expect(p.receive({pair: true, timestamp: NOW - 5}, NOW)).toEqual({event: 'requestedByPeer'});
        expect(p.timestamp).toBe(NOW - 5);
        expect(p.accept()).toEqual({send: {pair: true}, event: 'paired'});
        expect(p.state).toBe('paired');
    });

    it('request() while the peer asks accepts its request', () => {
        const p = new PairingState(false, 8);
        p.receive({pair: true, timestamp: String(NOW)}, NOW);
        expect(p.request(NOW).event).toBe('paired');
    });

    it('the user rejects the peer\'s request', () => {
        const p = new PairingState(false, 8);
        p.receive({pair: true, timestamp: NOW}, NOW);
        expect(p.reject()).toEqual({send: {pair: false}, event: 'refused', reason: 'rejected by the user'});
        expect(p.state).toBe('unpaired');
    });

    it('the peer rejects our request', () => {
        const p = new PairingState(false, 8);
        p.request(NOW);
        expect(p.receive({pair: false}, NOW).event).toBe('rejected');
        expect(p.state).toBe('unpaired');
    });

    it('v8: refuses a request from a clock more than 30 minutes off', () => {
        const p = new PairingState(false, 8);
        const step = p.receive({pair: true, timestamp: NOW - 1801}, NOW);
        expect(step.event).toBe('refused');
        expect(step.send).toEqual({pair: false});
        expect(step.reason).toMatch(/clocks out of sync/);
        expect(new PairingState(false, 8).receive({pair: true, timestamp: NOW + 1799}, NOW).event).toBe('requestedByPeer');
    });

    it('v8: a request without timestamp is an unpair, not a request', () => {
        const paired = new PairingState(true, 8);
        expect(paired.receive({pair: true}, NOW).event).toBe('unpaired');
        const fresh = new PairingState(false, 8);
        expect(fresh.receive({pair: true}, NOW).event).toBeUndefined();
        expect(fresh.state).toBe('unpaired');
    });

    it('v7: a request without timestamp is a request', () => {
        expect(new PairingState(false, 7).receive({pair: true}, NOW).event).toBe('requestedByPeer');
    });

    it('a paired peer that asks again starts a new request', () => {
        const p = new PairingState(true, 8);
        expect(p.receive({pair: true, timestamp: NOW}, NOW).event).toBe('requestedByPeer');
        expect(p.state).toBe('requestedByPeer');
    });

    it('times out pending requests both ways and says so to the peer', () => {
        const ours = new PairingState(false, 8);
        ours.request(NOW);
        expect(ours.timeout()).toEqual({send: {pair: false}, event: 'timeout', reason: 'the pairing request timed out'});
        const theirs = new PairingState(false, 8);
        theirs.receive({pair: true, timestamp: NOW}, NOW);
        expect(theirs.timeout().event).toBe('timeout');
        expect(new PairingState(true, 8).timeout()).toEqual({});
    });

    it('unpairs from paired, either side', () => {
        const p = new PairingState(true, 8);
        expect(p.unpair()).toEqual({send: {pair: false}, event: 'unpaired'});
        const q = new PairingState(true, 8);
        expect(q.receive({pair: 'false'}, NOW).event).toBe('unpaired');
    });

    it('ignores a pair packet without a boolean', () => {
        const p = new PairingState(true, 8);
        expect(p.receive({pair: 'maybe'}, NOW).event).toBeUndefined();
        expect(p.state).toBe('paired');
    });
});

describe('discovery limits', () => {
    it('lets one identity per id through every interval', () => {
        const l = new IntervalLimiter(500);
        expect(l.allow('a', 0)).toBeTrue();
        expect(l.allow('a', 499)).toBeFalse();
        expect(l.allow('b', 499)).toBeTrue();
        expect(l.allow('a', 500)).toBeTrue();
    });

    it('stays bounded under a flood of ids', () => {
        const l = new IntervalLimiter(500, 1000);
        for (let i = 0; i < 20000; i++)
            l.allow(`id${i}`, i / 10);
        expect(l.size).toBeLessThanOrEqual(1000);
    });

    it('limits one address to a burst, then the refill rate', () => {
        const l = new BucketLimiter(10, 5, 100);
        let allowed = 0;
        for (let i = 0; i < 100; i++)
            allowed += l.allow('10.0.0.1', 0) ? 1 : 0;
        expect(allowed).toBe(10);
        expect(l.allow('10.0.0.1', 100)).toBeFalse();
        expect(l.allow('10.0.0.1', 200)).toBeTrue();
        for (let i = 0; i < 1000; i++)
            l.allow(`10.0.${i}.1`, 300);
        expect(l.size).toBeLessThanOrEqual(100);
    });
});

describe('log throttle', () => {
    it('lets a burst of lines per key through each window and says how many it held back', () => {
        const t = new LogThrottle(2, 1000, 10);
        expect(t.pass('evil:malformed', 'bad 1', 0)).toBe('bad 1');
        expect(t.pass('evil:malformed', 'bad 2', 10)).toBe('bad 2');
        for (let i = 0; i < 500; i++)
            expect(t.pass('evil:malformed', 'bad', 20 + i)).toBeNull();
        // another key has its own budget
        expect(t.pass('friend:malformed', 'other', 30)).toBe('other');
        expect(t.pass('evil:malformed', 'bad 3', 1000)).toBe('bad 3 (500 more like it held back)');
        expect(t.pass('evil:malformed', 'bad 4', 1001)).toBe('bad 4');
    });

    it('stays bounded under a flood of keys', () => {
        const t = new LogThrottle(1, 1000, 50);
        for (let i = 0; i < 10000; i++)
            expect(t.pass(`id${i}`, 'x', i)).toBe('x');
        expect(t.pass('id9999', 'x', 10000)).toBeNull();
        // the oldest keys were forgotten: they start afresh
        expect(t.pass('id0', 'x', 10001)).toBe('x');
    });
});

describe('interface broadcast addresses', () => {
    it('reads them, and the host\'s own addresses, from /proc/net/fib_trie text', () => {
        const text = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.77.0.0/24 2 0 2
        +-- 10.77.0.0/30 2 0 2
           |-- 10.77.0.0
              /24 link UNICAST
           |-- 10.77.0.1
              /32 host LOCAL
        |-- 10.77.0.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.255.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 10.77.0.255
           /32 link BROADCAST
        |-- 192.168.5.255
           /32 link BROADCAST
`;
        expect(parseFibTrieBroadcasts(text)).toEqual(['10.77.0.255', '192.168.5.255']);
        // what multicast DNS puts in its A records: loopback left out
        expect(parseFibTrieLocals(`${text}     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
`)).toEqual(['10.77.0.1']);
    });
});
