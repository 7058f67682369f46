// Bounded rate limiters for discovery: a flood of identities from thousands of fake ids or one
// noisy address must neither grow memory without bound nor reach the link layer.

/** Lets one event per key through every `intervalMs`; remembers at most `maxKeys` keys. */
export class IntervalLimiter {
    private last = new Map<string, number>();

    constructor(private readonly intervalMs: number, private readonly maxKeys = 4096) {}

    allow(key: string, nowMs: number): boolean {
        const prev = this.last.get(key);
        if (prev !== undefined && nowMs - prev < this.intervalMs)
            return false;
        this.last.delete(key);
        this.last.set(key, nowMs);
        if (this.last.size > this.maxKeys)
            this.evict(nowMs);
        return true;
    }

    private evict(nowMs: number): void {
        for (const [k, t] of this.last) {
            if (this.last.size <= this.maxKeys / 2 && nowMs - t < this.intervalMs)
                break;
            this.last.delete(k); // Map keeps insertion order: oldest first
        }
    }

    get size(): number {
        return this.last.size;
    }
}

/** A token bucket per key: `burst` events at once, refilled at `perSecond`. */
export class BucketLimiter {
    private buckets = new Map<string, {tokens: number; at: number}>();

    constructor(private readonly burst: number, private readonly perSecond: number, private readonly maxKeys = 4096) {}

    allow(key: string, nowMs: number): boolean {
        let b = this.buckets.get(key);
        if (b) {
            b.tokens = Math.min(this.burst, b.tokens + (nowMs - b.at) / 1000 * this.perSecond);
            b.at = nowMs;
            this.buckets.delete(key);
        } else {
            b = {tokens: this.burst, at: nowMs};
        }
        this.buckets.set(key, b);
        if (this.buckets.size > this.maxKeys) {
            const oldest = this.buckets.keys().next().value;
            if (oldest !== undefined)
                this.buckets.delete(oldest);
        }
        if (b.tokens < 1)
            return false;
        b.tokens -= 1;
        return true;
    }

    get size(): number {
        return this.buckets.size;
    }
}
