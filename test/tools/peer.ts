// A scripted KDE Connect peer for the hostile-input tests: Ferry's own engine for discovery and
// the link, then packets and payloads exactly as a scenario file says, well-formed or not.
//   gjs -m build/test/peer.js CONFIG_DIR TARGET_DEVICE_ID SCENARIO.json
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import {Engine} from '../../src/core/engine.js';
import {ShareService} from '../../src/core/share.js';
import {certificateFromPem} from '../../src/core/identity/certificate.js';
import {delay, errorMessage, writeAll} from '../../src/net/gio.js';
import {PayloadServer} from '../../src/net/payloadServer.js';
import {closeStream, handshake, tlsServer} from '../../src/net/tls.js';
import {Packet, nextPacketId} from '../../src/protocol/packet.js';
import {prng} from '../lib/prng.js';

interface Step {
    /** A packet to send; `id` is filled in. A raw line is sent as it is. */
    packet?: Omit<Packet, 'id'>;
    raw?: string;
    /** Bytes sent as they are, with no newline: a packet cut short. */
    partial?: string;
    /** The peer dies here (SIGKILL): no TLS close, no FIN sent in an orderly way by the program. */
    die?: boolean;
    /** Serve a payload for this packet (its payloadTransferInfo.port is set unless given). */
    payload?: {send: number; behaviour?: 'close' | 'abort' | 'hold' | 'dribble' | 'stall' | 'die'; holdUntilFile?: string};
    /** Generated and mutated packets, `count` of them, from a seeded generator. */
    fuzz?: {count: number; seed: number; unpair?: boolean};
    waitMs?: number;
    /**
     * Receive files from the target for `waitMs`: the first `ignore` announcements are not
     * fetched, and with `dropLink` the link each ignored one came on is closed, unread from then
     * on (as kdeconnectd drops a link another replaces); the target links again.
     */
    receive?: {ignore: number; dropLink?: boolean};
}

/** Kills this process with SIGKILL, as a peer that crashes or loses power. */
function die(): Promise<never> {
    const pid = new Gio.Credentials().get_unix_pid();
    print(`dying at ${GLib.get_monotonic_time()}`);
    Gio.Subprocess.new(['kill', '-KILL', String(pid)], Gio.SubprocessFlags.NONE);
    // nothing more happens here: the signal comes within milliseconds
    return new Promise(() => undefined);
}

async function servePayload(engine: Engine, targetPem: string, server: PayloadServer, p: NonNullable<Step['payload']>): Promise<string> {
    const tcp = await server.accept(null, 10000);
    server.close();
    const tls = tlsServer(tcp, engine.identity!.certificate, {expected: certificateFromPem(targetPem)});
    await handshake(tls, null);
    const chunk = new Uint8Array(65536).fill(0x61);
    if (p.behaviour === 'dribble' || p.behaviour === 'stall') {
        // a byte a second, or `send` bytes and then silence, until the receiver gives up
        if (p.behaviour === 'stall')
            await writeAll(tls.output_stream, new Uint8Array(p.send).fill(0x62), null);
        const started = GLib.get_monotonic_time();
        // the receiver giving up shows as the end of its (empty) side of the stream
        let closed = false;
        tls.input_stream.read_bytes_async(1, GLib.PRIORITY_DEFAULT, null).then(() => {
            closed = true;
        }, () => {
            closed = true;
        });
        while (!closed) {
            await delay(1000);
            if (p.behaviour === 'dribble' && !closed)
                await writeAll(tls.output_stream, chunk.subarray(0, 1), null).catch(() => undefined);
            if (GLib.get_monotonic_time() - started > 120e6)
                return 'the receiver never gave up';
        }
        return `receiver gave up after ${Math.round((GLib.get_monotonic_time() - started) / 1e6)} s`;
    }
    let left = p.send;
    while (left > 0) {
        const n = Math.min(left, chunk.length);
        await writeAll(tls.output_stream, chunk.subarray(0, n), null);
        left -= n;
    }
    if (p.behaviour === 'die')
        await die();
    if (p.behaviour === 'abort') {
        // vanish without a TLS close: close the socket under the TLS layer
        tcp.get_socket().close();
        return 'aborted';
    }
    let outcome = 'closed';
    if (p.behaviour === 'hold' && p.holdUntilFile) {
        // keep the connection open (as GSConnect does) until the receiver has the whole file
        const until = GLib.get_monotonic_time() + 10e6;
        while (!GLib.file_test(p.holdUntilFile, GLib.FileTest.EXISTS) && GLib.get_monotonic_time() < until)
            await delay(50);
        outcome = GLib.file_test(p.holdUntilFile, GLib.FileTest.EXISTS) ? 'file complete while held open' : 'file missing while held open';
    }
    await closeStream(tls);
    return outcome;
}

const TYPES = ['kdeconnect.share.request', 'kdeconnect.share.request.update', 'kdeconnect.pair', 'kdeconnect.identity',
    'kdeconnect.ping', 'kdeconnect.battery', 'kdeconnect.clipboard', 'x.unknown', '', 'kdeconnect.share.request\u0000'];

// made once: gjs 1.74 can block callbacks during a collection (see docs/reliability.md), so the
// generator keeps its garbage small
const LONG = 'x'.repeat(70000);
const NESTED = '['.repeat(200) + ']'.repeat(200);
const DEEP = new TextEncoder().encode('{"id":1,"type":"kdeconnect.ping","body":' + '['.repeat(5000) + ']'.repeat(5000) + '}');

/** One generated line: a valid-looking packet, mutated, or bytes that are no JSON at all. */
function fuzzLine(r: () => number, unpair: boolean): Uint8Array {
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
    const weird = (): unknown => pick<() => unknown>([
        () => null, () => true, () => -1, () => 1e308, () => 2 ** 64, () => -0, () => 'NaN', () => '',
        () => LONG.slice(0, Math.floor(r() * LONG.length)), () => [], () => ({}), () => [1, 'a', null],
        () => JSON.parse(NESTED), () => ({filename: {nested: true}}),
        () => '../../' + 'a/'.repeat(50) + 'x', () => '\u0000\u001f\u202e', () => Math.floor(r() * 1e9),
    ])();
    const kind = r();
    if (kind < 0.08) {
        // not JSON, or not UTF-8
        const n = Math.floor(r() * 300);
        const bytes = new Uint8Array(n);
        for (let i = 0; i < n; i++)
            bytes[i] = Math.floor(r() * 256) === 10 ? 32 : Math.floor(r() * 256);
        return bytes;
    }
    if (kind < 0.1)
        return DEEP;
    const body: Record<string, unknown> = {filename: 'fuzz.bin', text: 'hello', url: 'https://example.org', pair: r() < 0.5,
        numberOfFiles: 1, totalPayloadSize: 10, lastModified: 1700000000000, open: false, deviceId: 'x'.repeat(32),
        deviceName: 'Fuzz', protocolVersion: 8};
    for (const key of Object.keys(body)) {
        const m = r();
        if (m < 0.3)
            delete body[key];
        else if (m < 0.5)
            body[key] = weird();
    }
    // pair packets only rarely: a pair:false unpairs the device, after which all else is refused
    let type = pick(TYPES);
    if (type === 'kdeconnect.pair' && r() < 0.9)
        type = 'kdeconnect.ping';
    if (type === 'kdeconnect.pair' && !unpair) {
        // any boolean ends the trust (a paired device that asks again has forgotten us; one
        // without the v8 timestamp unpairs): only a run allowed to unpair sends one
        body.pair = pick(['yes', 1, null, [], {}]);
    }
    const packet: Record<string, unknown> = {id: r() < 0.9 ? Math.floor(r() * 1e12) : weird(), type: r() < 0.9 ? type : weird(), body};
    if (r() < 0.3)
        packet.payloadSize = weird();
    // offers of a payload that nobody serves: only a few, each costs the receiver a connection attempt
    if (r() < 0.005)
        packet.payloadTransferInfo = {port: 1739 + Math.floor(r() * 26)};
    else if (r() < 0.05)
        packet.payloadTransferInfo = weird();
    if (r() < 0.2)
        delete packet.body;
    return new TextEncoder().encode(JSON.stringify(packet));
}

async function sendFuzz(out: Gio.OutputStream, count: number, seed: number, unpair: boolean): Promise<string> {
    const r = prng(seed);
    const newline = new Uint8Array([10]);
    let batch: Uint8Array[] = [];
    let size = 0, sent = 0;
    for (let i = 0; i < count; i++) {
        const line = fuzzLine(r, unpair);
        batch.push(line, newline);
        size += line.length + 1;
        if (size > 256 * 1024 || i === count - 1) {
            const all = new Uint8Array(size);
            let at = 0;
            for (const b of batch) {
                all.set(b, at);
                at += b.length;
            }
            await writeAll(out, all, null);
            sent = i + 1;
            batch = [];
            size = 0;
        }
    }
    return `fuzz sent ${sent} packets`;
}

async function main(): Promise<number> {
    const [configDir, target, scenarioPath] = System.programArgs;
    const [, data] = GLib.file_get_contents(scenarioPath);
    const steps = JSON.parse(new TextDecoder().decode(data)) as Step[];
    const engine = new Engine({configDir, identity: 'ferry', hosts: [], deviceName: 'Evil', watchGSConnect: false});
    engine.on('log', l => print(`peer: ${l}`));
    await engine.start();
    const deadline = GLib.get_monotonic_time() + 15e6;
    while (!engine.devices.get(target)?.reachable) {
        if (GLib.get_monotonic_time() > deadline)
            throw new Error('the target never connected');
        await delay(100);
    }
    const device = engine.devices.get(target)!;
    // both sides connect to each other at first and keep the newest link: a packet sent on the
    // link that is being replaced is lost, so wait until one link has held for a second
    for (let held = 0, link = device.link; held < 10; held++) {
        await delay(100);
        if (device.link !== link) {
            link = device.link;
            held = 0;
        }
    }
    const targetPem = device.trusted?.certificatePem ?? device.link!.peerCertificate.certificate_pem ?? '';
    for (const [i, step] of steps.entries()) {
        // a step that writes needs a link: one the target closed meanwhile (it refuses an
        // unpaired peer, two links settling) comes back; other steps run without one
        const writes = step.packet !== undefined || step.raw !== undefined || step.partial !== undefined || step.fuzz !== undefined;
        for (let waited = 0; writes && !device.link && waited < 100; waited++)
            await delay(100);
        const link = device.link;
        if (writes && !link)
            throw new Error(`no link to the target at step ${i}`);
        let server: PayloadServer | null = null;
        let line = step.raw;
        if (step.packet) {
            const packet: Packet = {id: nextPacketId(), ...step.packet};
            if (step.payload) {
                server = new PayloadServer();
                packet.payloadTransferInfo ??= {port: server.port};
            }
            line = JSON.stringify(packet);
        }
        let outcome = 'sent';
        try {
            if (line !== undefined)
                await writeAll(link!.connection.output_stream, new TextEncoder().encode(`${line}\n`), null);
            if (step.partial !== undefined)
                await writeAll(link!.connection.output_stream, new TextEncoder().encode(step.partial), null);
        } catch (e) {
            // the target may end the link while a step is written (as at a line over its limit, with
            // the rest unread): what happened is the step's outcome, for the test to judge
            outcome = `write failed: ${errorMessage(e)}`;
            server?.close();
            server = null;
        }
        if (step.die && !server)
            await die();
        if (step.fuzz) {
            try {
                outcome = await sendFuzz(link!.connection.output_stream, step.fuzz.count, step.fuzz.seed, step.fuzz.unpair ?? false);
            } catch (e) {
                outcome = `fuzz stopped: ${errorMessage(e)}`;
            }
        }
        if (server && step.payload) {
            try {
                outcome = await servePayload(engine, targetPem, server, step.payload);
            } catch (e) {
                outcome = `payload error: ${errorMessage(e)}`;
            } finally {
                server.close();
            }
        }
        let stopReceiving = () => undefined as void;
        if (step.receive) {
            const want = step.receive;
            let ignored = 0;
            let share: ShareService | null = null;
            const off = engine.on('packet', (_d, p) => {
                const name = (p.body as {filename?: unknown}).filename;
                if (p.type !== 'kdeconnect.share.request' || typeof name !== 'string' || ignored >= want.ignore)
                    return;
                ignored++;
                print(`ignored the announcement of ${name}${want.dropLink ? ', dropping its link' : ''}`);
                if (want.dropLink)
                    device.link?.close('dropped by the scenario');
                // a share service made now takes the announcements after this one
                if (ignored >= want.ignore) {
                    share = new ShareService(engine, {receiveDirectory: `${configDir}/received`});
                    share.on('log', l => print(`peer: ${l}`));
                }
            });
            if (want.ignore === 0) {
                share = new ShareService(engine, {receiveDirectory: `${configDir}/received`});
                share.on('log', l => print(`peer: ${l}`));
            }
            print(`step ${i} receiving`);
            stopReceiving = () => {
                off();
                (share as ShareService | null)?.destroy();
            };
            outcome = 'received';
        }
        if (step.waitMs)
            await delay(step.waitMs);
        stopReceiving();
        print(`step ${i} ${outcome}`);
    }
    print(`link ${device.reachable ? 'up' : 'down'}`);
    engine.stop();
    return 0;
}

const loop = new GLib.MainLoop(null, false);
let code = 1;
main().then(c => {
    code = c;
}, e => printerr(`peer: ${errorMessage(e)}`)).finally(() => loop.quit());
loop.run();
System.exit(code);
