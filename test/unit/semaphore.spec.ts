import {Semaphore} from '../../src/lib/semaphore.js';
import {prng} from '../lib/prng.js';

/** A promise and the function that resolves it. */
function gate(): {promise: Promise<void>; open: () => void} {
    let open = () => undefined as void;
    const promise = new Promise<void>(resolve => {
        open = resolve;
    });
    return {promise, open};
}

describe('the semaphore a device\'s fetches share', () => {
    it('runs at most its limit at once and starts jobs in the order given, even one given as a slot is handed on', async () => {
        const seed = Math.floor(Math.random() * 1e9);
        const random = prng(seed);
        const s = new Semaphore(2);
        const started: number[] = [];
        const gates: ReturnType<typeof gate>[] = [];
        let running = 0, most = 0;
        const jobs: Promise<void>[] = [];
        const give = (n: number) => {
            const g = gate();
            gates[n] = g;
            jobs.push(s.run(async () => {
                started.push(n);
                running++;
                most = Math.max(most, running);
                await g.promise;
                running--;
            }));
        };
        for (let n = 0; n < 5; n++)
            give(n);
        // open the jobs in a generated order; a new job is given right after each is opened,
        // before the slot it frees reaches the next one waiting
        const order = [...gates.keys()].sort(() => random() - 0.5);
        let next = 5;
        for (const n of order) {
            gates[n].open();
            give(next++);
            await new Promise(resolve => setTimeout(resolve, 0));
        }
        for (let n = 5; n < next; n++) {
            gates[n].open();
            await new Promise(resolve => setTimeout(resolve, 0));
        }
        await Promise.all(jobs);
        expect(most).withContext(`seed ${seed}`).toBe(2);
        expect(started).withContext(`seed ${seed}`).toEqual([...Array(next).keys()]);
    });

    it('frees the slot of a job that throws', async () => {
        const s = new Semaphore(1);
        await expectAsync(s.run(() => Promise.reject(new Error('no')))).toBeRejectedWithError('no');
        expect(await s.run(() => Promise.resolve(7))).toBe(7);
    });

    it('hands out slots by acquire in the order asked, and a slot given back twice frees one slot only', async () => {
        const s = new Semaphore(2);
        const first = await s.acquire();
        const second = await s.acquire();
        const order: number[] = [];
        const third = s.acquire().then(r => (order.push(3), r));
        const fourth = s.acquire().then(r => (order.push(4), r));
        await new Promise(resolve => setTimeout(resolve, 0));
        expect(order).toEqual([]);
        first();
        first();
        const released3 = await third;
        await new Promise(resolve => setTimeout(resolve, 0));
        // the second give-back of the same slot freed nothing: the fourth still waits
        expect(order).toEqual([3]);
        second();
        const released4 = await fourth;
        expect(order).toEqual([3, 4]);
        released3();
        released4();
        // both slots free again
        (await s.acquire())();
        const a = await s.acquire(), b = await s.acquire();
        a();
        b();
    });

    it('asks a limit given as a function each time a slot is asked for, so it can grow', async () => {
        let limit = 1;
        const s = new Semaphore(() => limit);
        const first = await s.acquire();
        let second = false;
        const waiting = s.acquire().then(r => (second = true, r));
        await new Promise(resolve => setTimeout(resolve, 0));
        expect(second).toBeFalse();
        limit = 2;
        // a slot asked for now gets one at once; the one already waiting starts at the next release
        const third = await s.acquire();
        expect(second).toBeFalse();
        first();
        (await waiting)();
        expect(second).toBeTrue();
        third();
    });
});
