// A scripted KDE Connect peer for the hostile-input tests: Ferry's own engine for discovery and
// the link, then packets and payloads exactly as a scenario file says, well-formed or not.
//   gjs -m build/test/peer.js CONFIG_DIR TARGET_DEVICE_ID SCENARIO.json
import GLib from 'gi://GLib';
import System from 'system';
import {Engine} from '../../src/core/engine.js';
import {certificateFromPem} from '../../src/core/identity/certificate.js';
import {delay, errorMessage, writeAll} from '../../src/net/gio.js';
import {PayloadServer} from '../../src/net/payload.js';
import {closeStream, handshake, tlsServer} from '../../src/net/tls.js';
import {Packet, nextPacketId} from '../../src/protocol/packet.js';

interface Step {
    /** A packet to send; `id` is filled in. A raw line is sent as it is. */
    packet?: Omit<Packet, 'id'>;
    raw?: string;
    /** Serve a payload for this packet (its payloadTransferInfo.port is set unless given). */
    payload?: {send: number; behaviour?: 'close' | 'abort' | 'hold'; holdUntilFile?: string};
    waitMs?: number;
}

async function servePayload(engine: Engine, targetPem: string, server: PayloadServer, p: NonNullable<Step['payload']>): Promise<string> {
    const tcp = await server.accept(null, 10000);
    server.close();
    const tls = tlsServer(tcp, engine.identity!.certificate, {expected: certificateFromPem(targetPem)});
    await handshake(tls, null);
    const chunk = new Uint8Array(65536).fill(0x61);
    let left = p.send;
    while (left > 0) {
        const n = Math.min(left, chunk.length);
        await writeAll(tls.output_stream, chunk.subarray(0, n), null);
        left -= n;
    }
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
    const targetPem = device.trusted?.certificatePem ?? device.link!.peerCertificate.certificate_pem ?? '';
    for (const [i, step] of steps.entries()) {
        const link = device.link!;
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
        if (line !== undefined)
            await writeAll(link.connection.output_stream, new TextEncoder().encode(`${line}\n`), null);
        let outcome = 'sent';
        if (server && step.payload) {
            try {
                outcome = await servePayload(engine, targetPem, server, step.payload);
            } catch (e) {
                outcome = `payload error: ${errorMessage(e)}`;
            } finally {
                server.close();
            }
        }
        if (step.waitMs)
            await delay(step.waitMs);
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
