// TEST ONLY, never shipped. Puts the shell in unsafe mode, which opens org.gnome.Shell.Eval and
// org.gnome.Shell.Screenshot to the tests, and offers a main-loop ticker: a 1 ms timeout whose
// callbacks' spacing shows how long the shell's main loop was kept from running.
import GLib from 'gi://GLib';
import {Extension} from 'resource:///org/gnome/shell/extensions/extension.js';
import * as Main from 'resource:///org/gnome/shell/ui/main.js';
import * as MessageTray from 'resource:///org/gnome/shell/ui/messageTray.js';

// The main thread's time on a CPU and waiting for one, in ms (the leader's /proc schedstat).
function schedstat() {
    const [, data] = GLib.file_get_contents('/proc/self/schedstat');
    const [run, wait, slices] = new globalThis.TextDecoder().decode(data).trim().split(' ').map(Number);
    return {run: run / 1e6, wait: wait / 1e6, slices};
}

class Ticker {
    constructor() {
        this.sched = schedstat();
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
        const s = schedstat();
        return {ticks: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0,
            runMs: s.run - this.sched.run, waitMs: s.wait - this.sched.wait, slices: s.slices - this.sched.slices};
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
            // A control for the main-loop figures: a notification updated as often as Ferry's
            // transfer progress (every 400 ms) for `seconds`, with no transfer behind it.
            notifyLikeProgress(seconds) {
                const source = new MessageTray.Source({title: 'Control', iconName: 'document-send-symbolic'});
                Main.messageTray.add(source);
                const note = new MessageTray.Notification({source, title: 'Receiving big.bin from Control', body: '0 %'});
                source.addNotification(note);
                const started = GLib.get_monotonic_time();
                GLib.timeout_add(GLib.PRIORITY_DEFAULT, 400, () => {
                    const done = (GLib.get_monotonic_time() - started) / 1e6 / seconds;
                    if (done >= 1) {
                        source.destroy();
                        return GLib.SOURCE_REMOVE;
                    }
                    note.body = `${Math.floor(done * 100)} %`;
                    return GLib.SOURCE_CONTINUE;
                });
                return true;
            },
        };
    }

    disable() {
        globalThis.ferryTest?.ticker?.stop();
        delete globalThis.ferryTest;
        global.context.unsafe_mode = false;
    }
}
