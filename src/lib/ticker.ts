// A 1 ms main-loop ticker: the spacing of its callbacks is how long the main loop was busy (or
// waiting for a core). The benchmark and `ferry serve`'s stall report both read it.
import GLib from 'gi://GLib';

export interface GapStats {
    ticks: number;
    p50: number;
    p99: number;
    max: number;
}

export class MainLoopTicker {
    private last = GLib.get_monotonic_time();
    private readonly id: number;
    /** Gaps in ms since the last `take()`, into the bucket `phase` names (none while it is null). */
    phase: string | null = 'all';
    private gaps = new Map<string, number[]>();

    constructor() {
        this.id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1, () => {
            const now = GLib.get_monotonic_time();
            if (this.phase !== null) {
                let bucket = this.gaps.get(this.phase);
                if (!bucket)
                    this.gaps.set(this.phase, bucket = []);
                bucket.push((now - this.last) / 1000);
            }
            this.last = now;
            return GLib.SOURCE_CONTINUE;
        });
    }

    /** The gaps recorded in `phase` so far; they are forgotten. */
    take(phase = 'all'): number[] {
        const g = this.gaps.get(phase) ?? [];
        this.gaps.delete(phase);
        return g;
    }

    stop(): void {
        GLib.source_remove(this.id);
    }

    static stats(gaps: number[]): GapStats {
        const g = [...gaps].sort((x, y) => x - y);
        const q = (p: number) => g.length ? +g[Math.min(g.length - 1, Math.floor(p * g.length))].toFixed(2) : 0;
        return {p50: q(0.5), p99: q(0.99), max: g.length ? +g[g.length - 1].toFixed(2) : 0, ticks: g.length};
    }
}
