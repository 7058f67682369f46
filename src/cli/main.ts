// `ferry`: the command line. Talks to the running engine over D-Bus when there is one (the
// shell extension or `ferry serve`), else runs the engine itself for the command's duration.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import {BUS_NAME, exportApi, identityInfo} from '../core/dbusApi.js';
import {DeviceInfo} from '../core/device.js';
import {Engine, EngineError, EngineOptions} from '../core/engine.js';
import {NoSuchDeviceError, matchDevice} from '../core/match.js';
import {delay, errorMessage, promisifyGio} from '../net/gio.js';
import {COMMANDS, ParsedArgs, commandHelp, parseArgs, usage} from './args.js';
import {RemoteEngine} from './remote.js';

const EXIT = {ok: 0, failure: 1, usage: 2, device: 3, pairing: 4, gsconnect: 5} as const;

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
    close(): void;
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
        return new Promise((resolve, reject) => {
            const off = this.remote.subscribe('PairingFinished', ([devId, result, reason]) => {
                if (devId !== id)
                    return;
                finish();
                resolve({result: String(result), reason: String(reason)});
            });
            const timer = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, seconds, () => {
                finish();
                reject(new CliError(`no answer to the pairing request within ${seconds} s`, EXIT.pairing));
                return GLib.SOURCE_REMOVE;
            });
            const finish = () => {
                off();
                GLib.source_remove(timer);
            };
        });
    }

    close(): void {
        // the remote engine keeps running
    }
}

class LocalFace implements Face {
    private started = false;

    constructor(private readonly engine: Engine) {}

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
        return new Promise((resolve, reject) => {
            const off = this.engine.on('pairingFinished', (devId, result, reason) => {
                if (devId !== id)
                    return;
                finish();
                resolve({result, reason});
            });
            const timer = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, seconds, () => {
                finish();
                reject(new CliError(`no answer to the pairing request within ${seconds} s`, EXIT.pairing));
                return GLib.SOURCE_REMOVE;
            });
            const finish = () => {
                off();
                GLib.source_remove(timer);
            };
        });
    }

    close(): void {
        this.engine.stop();
    }
}

function engineOptions(p: ParsedArgs): EngineOptions {
    return {
        configDir: p.options.configDir ?? GLib.build_filenamev([GLib.get_user_config_dir(), 'ferry']),
        identity: p.options.identity,
        hosts: p.options.to,
        ...p.options.protocol ? {protocolVersion: p.options.protocol} : {},
        ...p.options.name ? {deviceName: p.options.name} : {},
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

async function cmdServe(p: ParsedArgs): Promise<number> {
    const engine = new Engine(engineOptions(p));
    const stamp = () => GLib.DateTime.new_now_local().format('%H:%M:%S') ?? '';
    engine.on('log', line => print(`${stamp()} ${line}`));
    let connection: Gio.DBusConnection | null = null;
    try {
        connection = Gio.bus_get_sync(Gio.BusType.SESSION, null);
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
            unexport = exportApi(engine, conn);
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
    if (!COMMANDS[p.command]) {
        printerr(`ferry: unknown command "${p.command}"\n${usage()}`);
        return EXIT.usage;
    }
    if (p.options.help) {
        print(commandHelp(p.command));
        return EXIT.ok;
    }
    const needsDevice = p.command === 'pair' || p.command === 'unpair';
    if (needsDevice && p.args.length !== 1 || !needsDevice && p.args.length !== 0) {
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
