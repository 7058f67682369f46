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

/**
 * Log lines a peer can cause once per packet: `burst` per key in each `windowMs`, the rest
 * counted, and the count carried on the next line that gets through, so a flood neither floods
 * the journal nor hides that it happened.
 */
export class LogThrottle {
    private windows = new Map<string, {start: number; shown: number; held: number}>();

    constructor(private readonly burst = 20, private readonly windowMs = 10_000, private readonly maxKeys = 1024) {}

    /** The line to write, or null to hold it back. */
    pass(key: string, line: string, nowMs: number): string | null {
        let w = this.windows.get(key);
        let held = 0;
        if (!w || nowMs - w.start >= this.windowMs) {
            held = w?.held ?? 0;
            w = {start: nowMs, shown: 0, held: 0};
            this.windows.delete(key);
            this.windows.set(key, w);
            if (this.windows.size > this.maxKeys) {
                const oldest = this.windows.keys().next().value;
                if (oldest !== undefined)
                    this.windows.delete(oldest);
            }
        }
        if (w.shown >= this.burst) {
            w.held++;
            return null;
        }
        w.shown++;
        return held ? `${line} (${held} more like it held back)` : line;
    }
}
