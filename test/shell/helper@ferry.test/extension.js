// TEST ONLY, never shipped. Puts the shell in unsafe mode, which opens org.gnome.Shell.Eval and
// org.gnome.Shell.Screenshot to the tests, and offers a main-loop ticker: a 1 ms timeout whose
// callbacks' spacing shows how long the shell's main loop was kept from running.
import GLib from 'gi://GLib';
import {Extension} from 'resource:///org/gnome/shell/extensions/extension.js';
import * as MessageTray from 'resource:///org/gnome/shell/ui/messageTray.js';

class Ticker {
    constructor() {
        this.gaps = [];
        this.last = GLib.get_monotonic_time();
        this.id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1, () => {
            const now = GLib.get_monotonic_time();
            this.gaps.push((now - this.last) / 1000);
            this.last = now;
            return GLib.SOURCE_CONTINUE;
        });
    }

    stop() {
        GLib.source_remove(this.id);
        const sorted = [...this.gaps].sort((a, b) => a - b);
        const at = q => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
        return {ticks: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0};
    }
}

export default class FerryTestHelper extends Extension {
    enable() {
        global.context.unsafe_mode = true;
        // the shell announces unsafe mode in a notification: keep it out of the screenshots
        for (const n of [...MessageTray.getSystemSource().notifications]) {
            if (n.title === 'System was put in unsafe mode')
                n.destroy();
        }
        globalThis.ferryTest = {
            ticker: null,
            startTicker() {
                this.ticker?.stop();
                this.ticker = new Ticker();
                return true;
            },
            stopTicker() {
                const stats = this.ticker?.stop() ?? null;
                this.ticker = null;
                return stats;
            },
        };
    }

    disable() {
        globalThis.ferryTest?.ticker?.stop();
        delete globalThis.ferryTest;
        global.context.unsafe_mode = false;
    }
}
