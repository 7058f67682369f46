// The Ferry side of `npm run bench`: the engine and share service (the code the shell runs) in
// one gjs process, with a 1 ms main-loop ticker, CPU and memory accounting around one transfer.
// With a session bus (bench/common.py starts one per process), the engine's D-Bus API is exported
// on it as the shell and `ferry serve` export it: every transfer update is then a D-Bus signal, as
// in the product.
// With a batch, it also reports files/s and the per-file trace (src/lib/trace.ts) of its side.
//   gjs -m build/bench/node.js send CONFIG_DIR PEER_ID RECEIVE_DIR FILE...
//   gjs -m build/bench/node.js receive CONFIG_DIR PEER_ID RECEIVE_DIR [COUNT]
// A receiver waits for COUNT files (default: one batch, however many files it has): a
// kdeconnectd may send many files as batches of one.
// Diagnostics (docs/benchmarks.md, "Many files, 2026-12-05"): BENCH_SOURCES=1 prints the live
// main-context sources by name every 500 ms; BENCH_GC_MS=N runs the garbage collector every N ms;
// BENCH_NO_TICKER=1 leaves out the 1 ms ticker (and so the main-loop gaps) to weigh its own cost.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import {exportApi} from '../src/core/dbusApi.js';
import {Engine} from '../src/core/engine.js';
import {ShareService, TransferInfo} from '../src/core/share.js';
import {MainLoopTicker} from '../src/lib/ticker.js';
import {setTraceSink} from '../src/lib/trace.js';
import {delay, errorMessage} from '../src/net/gio.js';
import {cpuSeconds, readProc} from './proc.js';

/** The main context's live (not destroyed) sources by name: ids are handed out in order, so every id up to a new one is tried. */
function sourceCensus(): string {
    const top = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1000, () => GLib.SOURCE_REMOVE);
    const names = new Map<string, number>();
    const context = GLib.MainContext.default();
    for (let id = 1; id < top; id++) {
        const source = context.find_source_by_id(id);
        if (source) {
            const name = source.get_name() ?? '(unnamed)';
            names.set(name, (names.get(name) ?? 0) + 1);
        }
    }
    GLib.source_remove(top);
    return `${top} sources made, live: ${JSON.stringify([...names])}`;
}

function memKiB(field: 'VmRSS' | 'VmHWM'): number {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readProc('/proc/self/status'));
    return m ? Number(m[1]) : 0;
}

async function main(): Promise<number> {
    const [role, configDir, peerId, receiveDir, ...rest] = System.programArgs;
    const files = role === 'send' ? rest : [];
    const expected = role === 'receive' && rest[0] ? Number(rest[0]) : 0;
    const events: [string, string, number][] = [];
    setTraceSink((event, key, us) => events.push([event, key, us]));
    const engine = new Engine({configDir, identity: 'ferry', hosts: [], deviceName: 'Bench', watchGSConnect: false});
    const share = new ShareService(engine, {receiveDirectory: receiveDir});
    if (GLib.getenv('BENCH_VERBOSE')) {
        share.on('log', line => printerr(`share: ${line}`));
        engine.on('log', line => printerr(`engine: ${line}`));
    }
    const unexport = GLib.getenv('DBUS_SESSION_BUS_ADDRESS') ? exportApi(engine, share, Gio.DBus.session) : () => undefined;
    await engine.start();
    const deadline = GLib.get_monotonic_time() + 20e6;
    while (!engine.devices.get(peerId)?.reachable) {
        if (GLib.get_monotonic_time() > deadline)
            throw new Error('the peer never connected');
        await delay(50);
    }
    const pid = readProc('/proc/self/stat').split(' ')[0];
    const ticker = GLib.getenv('BENCH_NO_TICKER')
        ? {phase: null as string | null, stop: () => undefined, take: () => [] as number[]} : new MainLoopTicker();
    ticker.phase = null;
    const rss0 = memKiB('VmRSS');
    let t0 = 0, tFirst = 0, cpu0 = 0, main0 = 0;
    const ended: TransferInfo[] = [];
    const done = new Promise<TransferInfo>(resolve => {
        share.on('transfer', t => {
            const now = GLib.get_monotonic_time();
            if (!t0) {
                t0 = now;
                cpu0 = cpuSeconds('/proc/self/stat');
                main0 = cpuSeconds(`/proc/self/task/${pid}/stat`);
                ticker.phase = 'handshake';
            }
            // a batch of small files may report no byte before its first file is in
            if (!tFirst && (t.bytes > 0 || files.length > 1 || expected > 1)) {
                tFirst = now;
                ticker.phase = 'transfer';
            }
            if (t.state === 'active')
                return;
            ended.push(t);
            const delivered = ended.reduce((n, e) => n + e.delivered, 0);
            if (t.state !== 'done' || delivered >= expected) {
                resolve({...t, state: ended.every(e => e.state === 'done') ? 'done' : t.state, delivered,
                    numberOfFiles: ended.reduce((n, e) => n + e.numberOfFiles, 0), bytes: ended.reduce((n, e) => n + e.bytes, 0)});
            }
        });
    });
    print('ready');
    const gcMs = Number(GLib.getenv('BENCH_GC_MS') ?? 0);
    if (gcMs) {
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, gcMs, () => {
            System.gc();
            return GLib.SOURCE_CONTINUE;
        });
    }
    if (GLib.getenv('BENCH_SOURCES')) {
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 500, () => {
            printerr(`census: ${sourceCensus()}`);
            return GLib.SOURCE_CONTINUE;
        });
    }
    if (role === 'send')
        await share.sendFiles(peerId, files);
    const t = await done;
    const tEnd = GLib.get_monotonic_time();
    ticker.stop();
    const cpu = cpuSeconds('/proc/self/stat') - cpu0;
    const mainCpu = cpuSeconds(`/proc/self/task/${pid}/stat`) - main0;
    const gib = t.bytes / 2 ** 30;
    print(JSON.stringify({
        role, state: t.state, error: t.error, bytes: t.bytes, t_start_us: t0, t_end_us: tEnd, files: t.numberOfFiles, delivered: t.delivered,
        files_per_s: t.delivered / ((tEnd - t0) / 1e6), trace: events,
        seconds: (tEnd - t0) / 1e6, mbps: t.bytes / ((tEnd - t0) / 1e6) / 1e6,
        gap_transfer_ms: MainLoopTicker.stats(ticker.take('transfer')), gap_handshake_ms: MainLoopTicker.stats(ticker.take('handshake')),
        handshake_ms: ((tFirst || tEnd) - t0) / 1000,
        rss_growth_mib: (memKiB('VmHWM') - rss0) / 1024,
        cpu_s_per_gib: gib > 0 ? cpu / gib : 0, main_thread_cpu_s_per_gib: gib > 0 ? mainCpu / gib : 0,
        // a batch's CPU (every thread, and the main thread alone) per file: against the wall period
        // between files it says whether two cores were the limit
        cpu_ms_per_file: t.delivered > 0 ? cpu * 1000 / t.delivered : 0,
        main_thread_cpu_ms_per_file: t.delivered > 0 ? mainCpu * 1000 / t.delivered : 0,
    }));
    unexport();
    share.destroy();
    engine.stop();
    return t.state === 'done' ? 0 : 1;
}

const loop = new GLib.MainLoop(null, false);
let code = 1;
main().then(c => {
    code = c;
}, e => printerr(`bench: ${errorMessage(e)}`)).finally(() => loop.quit());
loop.run();
System.exit(code);
