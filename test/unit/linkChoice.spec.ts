import {DUAL_CONNECT_MS, LinkFacts, keepsOlderLink} from '../../src/protocol/linkChoice.js';
import {prng} from '../lib/prng.js';

/** One link as each end sees it: opened by `opener`, set up at `sinceMs`. */
function seenBy(end: 'a' | 'b', opener: 'a' | 'b', sinceMs: number): LinkFacts {
    return {outgoing: end === opener, sinceMs};
}

/** A link of a dual connect: who opened it, and when each end had it set up. */
type Setup = {opener: 'a' | 'b'; atA: number; atB: number};

describe('the choice between two links to one device', () => {
    it('has both ends of a dual connect keep the same link, whichever set it up first (generated ids and timings)', () => {
        const seed = Math.floor(Math.random() * 1e9);
        const random = prng(seed);
        const id = () => Array.from({length: 32}, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
        for (let n = 0; n < 500; n++) {
            const a = id(), b = id();
            // each end sets the two links up in its own order, within the dual-connect window
            const x: Setup = {opener: 'a', atA: random() * 500, atB: random() * 500};
            const y: Setup = {opener: 'b', atA: random() * 500, atB: random() * 500};
            const keptBy = (end: 'a' | 'b', own: string, peer: string) => {
                const [first, second] = [x, y].sort((p, q) => (end === 'a' ? p.atA - q.atA : p.atB - q.atB));
                const at = (l: Setup) => (end === 'a' ? l.atA : l.atB);
                const older = keepsOlderLink(seenBy(end, first.opener, at(first)), seenBy(end, second.opener, at(second)), own, peer);
                return (older ? first : second).opener;
            };
            const context = `seed ${seed}, case ${n}: ids ${a} ${b}`;
            expect(keptBy('a', a, b)).withContext(context).toBe(keptBy('b', b, a));
            // the link the greater id opened
            expect(keptBy('a', a, b)).withContext(context).toBe(a > b ? 'a' : 'b');
        }
    });

    it('keeps the newer link when the peer opened both, or when they are further apart than a dual connect', () => {
        expect(keepsOlderLink(seenBy('a', 'b', 0), seenBy('a', 'b', 10), 'f', '0')).toBeFalse();
        expect(keepsOlderLink(seenBy('a', 'a', 0), seenBy('a', 'a', 10), '0', 'f')).toBeFalse();
        expect(keepsOlderLink(seenBy('a', 'a', 0), seenBy('a', 'b', DUAL_CONNECT_MS), 'f', '0')).toBeFalse();
        // inside the window the greater id's link wins, older or not
        expect(keepsOlderLink(seenBy('a', 'a', 0), seenBy('a', 'b', DUAL_CONNECT_MS - 1), 'f', '0')).toBeTrue();
        expect(keepsOlderLink(seenBy('a', 'a', 0), seenBy('a', 'b', DUAL_CONNECT_MS - 1), '0', 'f')).toBeFalse();
    });
});
