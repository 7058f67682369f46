// `ferry`: the command line. Talks to the running engine over D-Bus when there is one (the
// shell extension or `ferry serve`), else runs the engine itself for the command's duration.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import {BUS_NAME, exportApi, identityInfo} from '../core/dbusApi.js';
import {DeviceInfo} from '../core/device.js';
import {Engine, EngineError, EngineOptions} from '../core/engine.js';
import {FerryStore} from '../core/identity/ferryStore.js';
import {NoSuchDeviceError, matchDevice} from '../core/match.js';
import {ShareService, TransferInfo} from '../core/share.js';
import {MainLoopTicker} from '../lib/ticker.js';
import {delay, errorMessage, holdForLife, promisifyGio} from '../net/gio.js';
import {COMMANDS, ParsedArgs, commandHelp, parseArgs, usage} from './args.js';
import {RemoteEngine} from './remote.js';

const EXIT = {ok: 0, failure: 1, usage: 2, device: 3, pairing: 4, gsconnect: 5, transfer: 6} as const;

class CliError extends Error {
    constructor(message: string, readonly code: number) {
        super(message);
    }
}

type Info = Record<string, unknown>;

/** What the commands need from an engine, running here or elsewhere. */
interface Face {
    identity(): Promise<Info>;
    devices(): Promise<Info[]>;
    /** Resolves when `query` names a reachable device, or throws after `seconds`. */
    waitReachable(query: string, seconds: number): Promise<Info>;
    pair(id: string): Promise<{state: string; verificationKey: string}>;
    unpair(id: string): Promise<void>;
    /** The outcome of the pending pairing with `id`: 'paired', 'rejected', 'timeout', … */
    pairingOutcome(id: string, seconds: number): Promise<{result: string; reason: string}>;
    /** Sends files and resolves with the transfer's final state, reporting progress on the way. */
    sendFiles(id: string, files: string[], progress: (t: TransferInfo) => void): Promise<TransferInfo>;
    sendText(id: string, text: string): Promise<void>;
    sendUrl(id: string, url: string): Promise<void>;
    transfers(): Promise<TransferInfo[]>;
    cancel(id: string): Promise<boolean>;
    close(): void;
}

/** Follows one transfer through its events until it ends. */
class TransferWatch {
    private id: string | null = null;
    private early: TransferInfo[] = [];
    private resolve: ((t: TransferInfo) => void) | null = null;
    readonly done: Promise<TransferInfo>;

    constructor(private readonly progress: (t: TransferInfo) => void) {
        this.done = new Promise(resolve => {
            this.resolve = resolve;
        });
    }

    /** Events may arrive before the id is known: they wait until then. */
    event(t: TransferInfo): void {
        if (this.id === null) {
            this.early.push(t);
            return;
        }
        if (t.id !== this.id)
            return;
        this.progress(t);
        if (t.state !== 'active')
            this.resolve?.(t);
    }

    start(id: string): void {
        this.id = id;
        for (const t of this.early.splice(0))
            this.event(t);
    }
}

/** Resolves with the end of the pairing with `id`, as reported through `subscribe`. */
function pairingOutcome(subscribe: (handler: (id: string, result: string, reason: string) => void) => () => void,
    id: string, seconds: number): Promise<{result: string; reason: string}> {
    return new Promise((resolve, reject) => {
        const off = subscribe((devId, result, reason) => {
            if (devId !== id)
                return;
            finish();
            resolve({result, reason});
        });
        let timer = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, seconds, () => {
            timer = 0;
            finish();
            reject(new CliError(`no answer to the pairing request within ${seconds} s`, EXIT.pairing));
            return GLib.SOURCE_REMOVE;
        });
        const finish = () => {
            off();
            if (timer)
                GLib.source_remove(timer);
            timer = 0;
        };
    });
}

/** Starts a transfer and follows its events (subscribed before it starts) until it ends. */
async function followTransfer(progress: (t: TransferInfo) => void,
    subscribe: (handler: (t: TransferInfo) => void) => () => void, start: () => Promise<string>): Promise<TransferInfo> {
    const watch = new TransferWatch(progress);
    const off = subscribe(t => watch.event(t));
    try {
        watch.start(await start());
        return await watch.done;
    } finally {
        off();
    }
}

function timeoutError(what: string, seconds: number): CliError {
    return new CliError(`${what} within ${seconds} s`, EXIT.device);
}

class RemoteFace implements Face {
    constructor(private readonly remote: RemoteEngine) {}

    async identity(): Promise<Info> {
        const [info] = await this.remote.call('GetIdentity');
        return info as Info;
    }

    async devices(): Promise<Info[]> {
        const [list] = await this.remote.call('ListDevices');
        return list as Info[];
    }

    async waitReachable(query: string, seconds: number): Promise<Info> {
        const deadline = GLib.get_monotonic_time() + seconds * 1e6;
        for (;;) {
            const list = await this.devices() as unknown as DeviceInfo[];
            try {
                const d = matchDevice(list, query);
                if (d.reachable || d.paired && GLib.get_monotonic_time() > deadline)
                    return d as unknown as Info;
            } catch (e) {
                if (GLib.get_monotonic_time() > deadline)
                    throw new CliError((e as Error).message, EXIT.device);
            }
            if (GLib.get_monotonic_time() > deadline)
                throw timeoutError(`${query} did not become reachable`, seconds);
            await delay(200);
        }
    }

    async pair(id: string): Promise<{state: string; verificationKey: string}> {
        const [state, verificationKey] = await this.remote.call('Pair', new GLib.Variant('(s)', [id])) as [string, string];
        return {state, verificationKey};
    }

    async unpair(id: string): Promise<void> {
        await this.remote.call('Unpair', new GLib.Variant('(s)', [id]));
    }

    pairingOutcome(id: string, seconds: number): Promise<{result: string; reason: string}> {
        return pairingOutcome(handler => this.remote.subscribe('PairingFinished',
            ([devId, result, reason]) => handler(String(devId), String(result), String(reason))), id, seconds);
    }

    sendFiles(id: string, files: string[], progress: (t: TransferInfo) => void): Promise<TransferInfo> {
        return followTransfer(progress, handler => this.remote.subscribe('TransferChanged', ([t]) => handler(t as TransferInfo)),
            async () => String((await this.remote.call('SendFiles', new GLib.Variant('(sas)', [id, files])))[0]));
    }

    async sendText(id: string, text: string): Promise<void> {
        await this.remote.call('SendText', new GLib.Variant('(ss)', [id, text]));
    }

    async sendUrl(id: string, url: string): Promise<void> {
        await this.remote.call('SendUrl', new GLib.Variant('(ss)', [id, url]));
    }

    async transfers(): Promise<TransferInfo[]> {
        const [list] = await this.remote.call('ListTransfers');
        return list as TransferInfo[];
    }

    async cancel(id: string): Promise<boolean> {
        const [found] = await this.remote.call('CancelTransfer', new GLib.Variant('(s)', [id]));
        return Boolean(found);
    }

    close(): void {
        // the remote engine keeps running
    }
}

class LocalFace implements Face {
    private started = false;
    private readonly share: ShareService;

    constructor(private readonly engine: Engine) {
        this.share = new ShareService(engine);
    }

    private async online(): Promise<void> {
        if (this.started)
            return;
        this.started = true;
        await this.engine.start();
        if (this.engine.state === 'deferred')
            throw new CliError(this.engine.stateMessage, EXIT.gsconnect);
        if (this.engine.state !== 'running')
            throw new CliError(`the engine could not start: ${this.engine.stateMessage}`, EXIT.failure);
    }

    async identity(): Promise<Info> {
        await this.engine.prepare();
        return identityInfo(this.engine);
    }

    /** With `seconds` 0, only the stored devices, without opening the network. */
    async devices(seconds = 2): Promise<Info[]> {
        if (seconds === 0) {
            await this.engine.prepare();
            return this.engine.deviceInfos() as unknown as Info[];
        }
        await this.online();
        await delay(seconds * 1000);
        return this.engine.deviceInfos() as unknown as Info[];
    }

    async waitReachable(query: string, seconds: number): Promise<Info> {
        await this.online();
        const deadline = GLib.get_monotonic_time() + seconds * 1e6;
        for (;;) {
            const found = [...this.engine.devices.values()].map(d => d.info());
            try {
                const d = matchDevice(found, query);
                if (d.reachable)
                    return d as unknown as Info;
            } catch (e) {
                if (GLib.get_monotonic_time() > deadline)
                    throw new CliError((e as Error).message, EXIT.device);
            }
            if (GLib.get_monotonic_time() > deadline)
                throw timeoutError(`${query} did not become reachable`, seconds);
            await delay(100);
        }
    }

    async pair(id: string): Promise<{state: string; verificationKey: string}> {
        await this.online();
        return this.engine.pair(id);
    }

    async unpair(id: string): Promise<void> {
        await this.engine.prepare();
        this.engine.unpair(id);
        await delay(300); // let the unpair packet and the store write go out
    }

    pairingOutcome(id: string, seconds: number): Promise<{result: string; reason: string}> {
        return pairingOutcome(handler => this.engine.on('pairingFinished', handler), id, seconds);
    }

    async sendFiles(id: string, files: string[], progress: (t: TransferInfo) => void): Promise<TransferInfo> {
        await this.online();
        return followTransfer(progress, handler => this.share.on('transfer', handler),
            async () => (await this.share.sendFiles(id, files)).id);
    }

    async sendText(id: string, text: string): Promise<void> {
        await this.online();
        await this.share.sendText(id, text);
        await delay(200); // let the packet leave before the engine stops
    }

    async sendUrl(id: string, url: string): Promise<void> {
        await this.online();
        await this.share.sendUrl(id, url);
        await delay(200);
    }

    transfers(): Promise<TransferInfo[]> {
        return Promise.resolve([]); // transfers live in a running engine only
    }

    cancel(_id: string): Promise<boolean> {
        return Promise.resolve(false);
    }

    close(): void {
        this.share.destroy();
        this.engine.stop();
    }
}

function formatBytes(n: number): string {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
        n /= 1000;
        i++;
    }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Progress on a terminal: one line, rewritten in place; elsewhere: a plain line per file. */
class ProgressPrinter {
    private readonly tty = GLib.log_writer_supports_color(1);
    private readonly started = GLib.get_monotonic_time();
    private lastFile = -1;
    private readonly out = new Gio.UnixOutputStream({fd: 1, close_fd: false});

    update(t: TransferInfo): void {
        const secs = (GLib.get_monotonic_time() - this.started) / 1e6;
        const rate = secs > 0 ? t.bytes / secs : 0;
        const pct = t.totalBytes > 0 ? Math.floor(t.bytes * 100 / t.totalBytes) : 100;
        if (this.tty) {
            const eta = rate > 0 && t.totalBytes > t.bytes ? ` ETA ${Math.ceil((t.totalBytes - t.bytes) / rate)} s` : '';
            const line = `\r\x1b[K${t.fileIndex + 1}/${t.numberOfFiles} ${t.current} ${pct}% ` +
                `${formatBytes(t.bytes)}/${formatBytes(t.totalBytes)} ${formatBytes(rate)}/s${eta}`;
            this.out.write_all(new TextEncoder().encode(line), null);
            if (t.state !== 'active')
                this.out.write_all(new TextEncoder().encode('\n'), null);
        } else if (t.fileIndex !== this.lastFile && t.state === 'active' && t.current) {
            this.lastFile = t.fileIndex;
            print(`sending ${t.fileIndex + 1}/${t.numberOfFiles}: ${t.current}`);
        }
    }
}

async function cmdSend(face: Face, p: ParsedArgs): Promise<number> {
    const device = await face.waitReachable(p.args[0], p.options.wait ?? 10);
    const files = p.args.slice(1).map(f => f.startsWith('file://') || f.startsWith('/') ? f
        : GLib.build_filenamev([GLib.get_current_dir(), f]));
    const printer = new ProgressPrinter();
    const t = await face.sendFiles(String(device.id), files, info => printer.update(info));
    if (t.state === 'done') {
        print(`sent ${t.numberOfFiles} file${t.numberOfFiles === 1 ? '' : 's'} (${formatBytes(t.totalBytes)}) to ${String(device.name)}`);
        return EXIT.ok;
    }
    throw new CliError(`transfer ${t.state}: ${t.error}`, EXIT.transfer);
}

/** `ferry id --reset`: Ferry's own identity only, and never under a running engine. */
async function resetIdentity(p: ParsedArgs, engineRunning: boolean): Promise<void> {
    if (engineRunning)
        throw new CliError('an engine is running (the shell extension or ferry serve): stop it before resetting the identity', EXIT.failure);
    if (p.options.identity === 'gsconnect')
        throw new CliError('GSConnect\'s identity is GSConnect\'s own: Ferry never changes it', EXIT.usage);
    const moved = await new FerryStore(engineOptions(p).configDir).reset();
    for (const path of moved)
        print(`moved aside: ${path}`);
    print('A new identity is made now; devices paired with the old one must pair again.');
}

function engineOptions(p: ParsedArgs): EngineOptions {
    return {
        configDir: p.options.configDir ?? GLib.build_filenamev([GLib.get_user_config_dir(), 'ferry']),
        identity: p.options.identity,
        hosts: p.options.to,
        ...p.options.protocol ? {protocolVersion: p.options.protocol} : {},
        ...p.options.name ? {deviceName: p.options.name} : {},
        deviceType: p.options.type,
    };
}

function printJson(value: unknown): void {
    print(JSON.stringify(value, null, 2));
}

function deviceLine(d: Info): string {
    const state = d.paired ? (d.reachable ? 'connected, paired' : 'paired, unreachable')
        : d.pairState === 'requestedByPeer' ? `connected, asks to pair (key ${d.verificationKey})`
            : d.reachable ? 'available, not paired' : 'unreachable';
    return `${String(d.name)}\t${String(d.id)}\t${String(d.type)}\t${state}\tprotocol ${String(d.protocolVersion)}`;
}

async function cmdPair(face: Face, p: ParsedArgs): Promise<number> {
    const query = p.args[0];
    const device = await face.waitReachable(query, p.options.wait ?? 10);
    const id = String(device.id);
    if (device.paired && !device.reachable) {
        print(`${String(device.name)} is already paired`);
        return EXIT.ok;
    }
    const outcome = face.pairingOutcome(id, 35);
    const {state, verificationKey} = await face.pair(id);
    if (state === 'paired' && !verificationKey) {
        outcome.catch(() => undefined);
        print(`${String(device.name)} is already paired`);
        return EXIT.ok;
    }
    print(`Verification key: ${verificationKey}`);
    if (state === 'paired') {
        outcome.catch(() => undefined);
        print(`Paired with ${String(device.name)}`);
        return EXIT.ok;
    }
    print(`Waiting for ${String(device.name)} to accept…`);
    const {result, reason} = await outcome;
    if (result === 'paired') {
        print(`Paired with ${String(device.name)}`);
        return EXIT.ok;
    }
    throw new CliError(`pairing ${result}${reason ? `: ${reason}` : ''}`, EXIT.pairing);
}

/**
 * With FERRY_MAIN_LOOP_REPORT=1, a 1 ms ticker runs and each SIGUSR1 prints the main loop's
 * gaps since the previous one: how a user (or the fault suite) sees whether something stalls it.
 */
function reportStallsOnSignal(stamp: () => string): void {
    if (GLib.getenv('FERRY_MAIN_LOOP_REPORT') !== '1')
        return;
    const ticker = new MainLoopTicker();
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, 10 /* SIGUSR1 */, () => {
        const s = MainLoopTicker.stats(ticker.take());
        print(`${stamp()} main loop: ${s.ticks} ticks, gap p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`);
        return GLib.SOURCE_CONTINUE;
    });
}

async function cmdServe(p: ParsedArgs): Promise<number> {
    const engine = new Engine(engineOptions(p));
    const share = new ShareService(engine, p.options.receiveDir ? {receiveDirectory: p.options.receiveDir} : {});
    const stamp = () => GLib.DateTime.new_now_local().format('%H:%M:%S') ?? '';
    engine.on('log', line => print(`${stamp()} ${line}`));
    share.on('log', line => print(`${stamp()} ${line}`));
    reportStallsOnSignal(stamp);
    // received text and links are delivered here, on standard output
    share.on('text', (device, text) => print(`${stamp()} text from ${device.name}: ${text}`));
    share.on('url', (device, url) => print(`${stamp()} link from ${device.name}: ${url}`));
    share.on('transfer', t => {
        if (t.state !== 'active')
            print(`${stamp()} transfer ${t.id} ${t.direction === 'in' ? 'from' : 'to'} ${t.deviceName} ${t.state}` +
                `${t.error ? `: ${t.error}` : ''} (${t.files.length}/${t.numberOfFiles} files, ${t.bytes} bytes)`);
    });
    let connection: Gio.DBusConnection | null = null;
    try {
        connection = Gio.bus_get_sync(Gio.BusType.SESSION, null);
        holdForLife([connection]); // as in remote.ts: no toggle flips from GDBus's thread
    } catch {
        print(`${stamp()} no session bus: the D-Bus API is not exported`);
    }
    let unexport: (() => void) | null = null;
    let ownerId = 0;
    const finished = new Promise<number>(resolve => {
        const stop = (code: number) => {
            unexport?.();
            if (ownerId)
                Gio.bus_unown_name(ownerId);
            share.destroy();
            engine.stop();
            resolve(code);
        };
        for (const signum of [2, 15])
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, () => {
                stop(EXIT.ok);
                return GLib.SOURCE_REMOVE;
            });
        if (connection) {
            const conn = connection;
            unexport = exportApi(engine, share, conn);
            ownerId = Gio.bus_own_name_on_connection(conn, BUS_NAME, Gio.BusNameOwnerFlags.DO_NOT_QUEUE,
                () => print(`${stamp()} D-Bus API on ${BUS_NAME}`),
                () => {
                    printerr(`ferry: another Ferry engine owns ${BUS_NAME} (the shell extension or another ferry serve)`);
                    stop(EXIT.failure);
                });
        }
        engine.start().catch(e => {
            printerr(`ferry: ${errorMessage(e)}`);
            stop(EXIT.failure);
        });
    });
    return finished;
}

/** For shell completion (completions/ferry.bash): device names and ids, one per line, never waiting on the network. */
async function completeDevices(p: ParsedArgs): Promise<number> {
    promisifyGio();
    try {
        const remote = await RemoteEngine.find();
        const face: Face = remote ? new RemoteFace(remote) : new LocalFace(new Engine(engineOptions(p)));
        const list = face instanceof LocalFace ? await face.devices(0) : await face.devices();
        for (const d of list)
            print(`${String(d.name)}\n${String(d.id)}`);
    } catch {
        // nothing to offer
    }
    return EXIT.ok;
}

async function run(argv: string[]): Promise<number> {
    let p: ParsedArgs;
    try {
        p = parseArgs(argv);
    } catch (e) {
        printerr(`ferry: ${(e as Error).message}\n${usage()}`);
        return EXIT.usage;
    }
    if (p.command === null || p.command === 'help') {
        if (p.args[0] && COMMANDS[p.args[0]])
            print(commandHelp(p.args[0]));
        else
            print(usage());
        return p.command === null && !p.options.help ? EXIT.usage : EXIT.ok;
    }
    if (p.command === '__complete-devices')
        return completeDevices(p);
    if (!COMMANDS[p.command]) {
        printerr(`ferry: unknown command "${p.command}"\n${usage()}`);
        return EXIT.usage;
    }
    if (p.options.help) {
        print(commandHelp(p.command));
        return EXIT.ok;
    }
    const arity: Record<string, [number, number]> = {pair: [1, 1], unpair: [1, 1], send: [2, Infinity], cancel: [1, 1],
        'send-text': [2, 2], 'send-url': [2, 2]};
    const [min, max] = arity[p.command] ?? [0, 0];
    if (p.args.length < min || p.args.length > max) {
        printerr(`ferry: wrong arguments\n${commandHelp(p.command)}`);
        return EXIT.usage;
    }
    promisifyGio();
    if (p.command === 'serve')
        return cmdServe(p);

    const remote = await RemoteEngine.find();
    const face: Face = remote ? new RemoteFace(remote) : new LocalFace(new Engine(engineOptions(p)));
    try {
        switch (p.command) {
        case 'id': {
            if (p.options.reset)
                await resetIdentity(p, remote !== null);
            const info = await face.identity();
            if (p.options.json)
                printJson(info);
            else
                print(`${String(info.name)}\n  id: ${String(info.id)}\n  identity: ${String(info.identitySource)}\n` +
                    `  protocol: ${String(info.protocolVersion)}`);
            return EXIT.ok;
        }
        case 'devices': {
            const list = face instanceof LocalFace ? await face.devices(p.options.wait ?? 2) : await face.devices();
            if (p.options.json)
                printJson(list);
            else if (list.length === 0)
                print('No devices.');
            else
                list.forEach(d => print(deviceLine(d)));
            return EXIT.ok;
        }
        case 'pair':
            return await cmdPair(face, p);
        case 'send':
            return await cmdSend(face, p);
        case 'transfers': {
            const list = await face.transfers();
            if (p.options.json)
                printJson(list);
            else if (list.length === 0)
                print('No transfers.');
            else
                list.forEach(t => print(`${t.id}\t${t.state}\t${t.direction === 'in' ? 'from' : 'to'} ${t.deviceName}\t` +
                    `${t.delivered}/${t.numberOfFiles} files${t.state === 'active' ? ` (now ${t.current})` : ''}\t` +
                    `${t.bytes}/${t.totalBytes} bytes${t.error ? `\t${t.error}` : ''}`));
            return EXIT.ok;
        }
        case 'cancel':
            if (!await face.cancel(p.args[0]))
                throw new CliError(`no transfer ${p.args[0]} (is the engine running?)`, EXIT.failure);
            print(`cancelled ${p.args[0]}`);
            return EXIT.ok;
        case 'send-text':
        case 'send-url': {
            const device = await face.waitReachable(p.args[0], p.options.wait ?? 10);
            if (p.command === 'send-text')
                await face.sendText(String(device.id), p.args[1]);
            else
                await face.sendUrl(String(device.id), p.args[1]);
            print(`sent to ${String(device.name)}`);
            return EXIT.ok;
        }
        case 'unpair': {
            const list = face instanceof LocalFace ? (await face.identity(), []) : await face.devices();
            const id = list.length ? String(matchDevice(list as unknown as DeviceInfo[], p.args[0]).id) : p.args[0];
            await face.unpair(id);
            print(`Unpaired ${p.args[0]}`);
            return EXIT.ok;
        }
        }
        return EXIT.usage;
    } catch (e) {
        if (e instanceof CliError) {
            printerr(`ferry: ${e.message}`);
            return e.code;
        }
        if (e instanceof NoSuchDeviceError || e instanceof EngineError) {
            printerr(`ferry: ${e.message}`);
            return e instanceof NoSuchDeviceError ? EXIT.device : EXIT.failure;
        }
        printerr(`ferry: ${errorMessage(e)}`);
        return EXIT.failure;
    } finally {
        face.close();
    }
}

const loop = new GLib.MainLoop(null, false);
let exitCode: number = EXIT.failure;
run(System.programArgs).then(code => {
    exitCode = code;
}, e => {
    printerr(`ferry: ${errorMessage(e)}`);
}).finally(() => loop.quit());
loop.run();
System.exit(exitCode);
