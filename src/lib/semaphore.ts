// At most `limit` jobs at once, started in the order they were given.

export class Semaphore {
    private readonly waiting: (() => void)[] = [];
    private active = 0;

    /** `limit` may be a function: it is asked each time a slot is, so it can grow (a waiting job then starts at the next release). */
    constructor(private readonly limit: number | (() => number)) {}

    private get max(): number {
        return typeof this.limit === 'number' ? this.limit : this.limit();
    }

    /**
     * Runs `job` once a slot is free. A finished job hands its slot straight to the next waiting
     * one, so a job given later can never start first (the receiver's batch bookkeeping relies
     * on a device's files starting in the order they were announced).
     */
    async run<T>(job: () => Promise<T>): Promise<T> {
        const release = await this.acquire();
        try {
            return await job();
        } finally {
            release();
        }
    }

    /** A slot, once one is free, in the order asked for; the function gives it back (once). */
    async acquire(): Promise<() => void> {
        if (this.active < this.max)
            this.active++;
        else
            await new Promise<void>(resolve => this.waiting.push(resolve));
        let held = true;
        return () => {
            if (!held)
                return;
            held = false;
            const next = this.waiting.shift();
            if (next)
                next();
            else
                this.active--;
        };
    }
}
