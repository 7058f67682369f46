// A KDE Connect peer that does nothing but what the protocol requires, on Ferry's platform: GJS,
// one main loop, GIO's sockets and files and glib-networking's TLS, the way a GNOME Shell
// extension must, so that `npm run bench` can tell the platform's per-file cost from Ferry's own.
// No checks beyond the payload's size, no stall watch, no transfer bookkeeping, no D-Bus, no
// notifications; the fewest GIO calls that do the job. Run with kdeconnectd both ways, and as a
// receiver with Ferry's sender (--fetches).
//   gjs -m build/bench/ideal_gio.js CONFIG_DIR DEVICE_ID PEER_IP RECEIVE_DIR COUNT [--fetches N]
// receives as bench/ideal_peer.py does (same arguments, same JSON line): each file's bytes to a
// partial name, renamed and dated. --fetches N: the sender is a Ferry, which is told with its own
// packet that N files are fetched at once (as Ferry's receiver tells it) and waits for each
// payload's TLS close as its confirmation: each ends with one, as Ferry's receiver ends it
// (kdeconnectd hangs up after its last byte and is owed none).
//   gjs -m build/bench/ideal_gio.js send [--unconfirmed] CONFIG_DIR DEVICE_ID PEER_IP FILE...
// sends the files as one batch, one at a time, each announced once the last is confirmed by the
// receiver's close (what Ferry's "sent" rests on; --unconfirmed: once its last byte is written, as
// kdeconnectd does), and prints {"t_start_us": …} when done. DEVICE_ID is the identity's own.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import {callAsync, closeOutput, connectTcp, createFile, errorMessage, moveFile, openFile, promisifyGio, readBytes,
    setFileAttributes, setNoDelay, spliceFrom, writeAll, writeAllBytes} from '../src/net/gio.js';
import {closeSocket, closeStream, handshake, tlsClient, tlsServer} from '../src/net/tls.js';
import {PacketReader} from '../src/net/packetReader.js';
import {Packet, encodePacket} from '../src/protocol/packet.js';
import {makeIdentityPacket} from '../src/protocol/identity.js';
import {MAX_IDENTITY_BYTES, MAX_PACKET_BYTES, PAYLOAD_PORT_MIN, UDP_PORT} from '../src/protocol/limits.js';
import {fetchesPacket, fileShareRequest} from '../src/protocol/share.js';
import {cpuSeconds} from './proc.js';

const SMALL = 64 * 1024;
const SPLICE = Gio.OutputStreamSpliceFlags;

function identity(deviceId: string, tcpPort?: number): Uint8Array {
    return encodePacket(makeIdentityPacket({deviceId, deviceName: 'Bench', deviceType: 'desktop', protocolVersion: 8,
        incomingCapabilities: ['kdeconnect.share.request'], outgoingCapabilities: ['kdeconnect.share.request']},
    tcpPort ? {tcpPort} : {}));
}

/** The next packet from `reader`; the end of the stream or a malformed line ends the run. */
async function nextPacket(reader: PacketReader): Promise<Packet> {
    const p = await reader.read(null);
    if (p === null)
        throw new Error('the peer closed the connection');
    if (p instanceof Error)
        throw p;
    return p;
}

/**
 * Links with the kdeconnectd at `peer`: a unicast UDP identity until it connects, its plaintext
 * identity, then TLS as the client (KDE Connect's inverted roles: the side that accepted TCP).
 */
async function linkWith(cert: Gio.TlsCertificate, deviceId: string, peer: Gio.InetAddress):
    Promise<{reader: PacketReader; tls: Gio.TlsConnection}> {
    const listener = new Gio.SocketListener();
    listener.add_inet_port(UDP_PORT, null);
    const udp = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
    const target = new Gio.InetSocketAddress({address: peer, port: UDP_PORT});
    const accepting = callAsync(cb => listener.accept_async(null, cb), res => listener.accept_finish(res)[0]);
    const deadline = GLib.get_monotonic_time() + 30e6;
    let tcp: Gio.SocketConnection | null = null;
    while (!tcp) {
        udp.send_to(target, identity(deviceId, UDP_PORT), null);
        tcp = await Promise.race([accepting, new Promise<null>(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1000, () => {
            resolve(null);
            return GLib.SOURCE_REMOVE;
        }))]);
        if (!tcp && GLib.get_monotonic_time() > deadline)
            throw new Error('the peer never connected');
    }
    listener.close();
    udp.close();
    setNoDelay(tcp);
    // nothing follows the plaintext identity before our ClientHello: no bytes are left behind
    await nextPacket(new PacketReader(tcp.input_stream, MAX_IDENTITY_BYTES));
    const tls = tlsClient(tcp, cert, {expected: null});
    await handshake(tls, null);
    await writeAll(tls.output_stream, identity(deviceId), null);
    const reader = new PacketReader(tls.input_stream, MAX_PACKET_BYTES);
    const first = await nextPacket(reader);
    if (first.type !== 'kdeconnect.identity')
        throw new Error(`expected the encrypted identity, got ${first.type}`);
    return {reader, tls};
}

interface Trace {
    [event: string]: number;
}

class Receiver {
    done = 0;
    errors: string[] = [];
    trace: [string, string, number][] = [];
    tEnd: number | null = null;
    finished: () => void = () => undefined;

    constructor(private readonly cert: Gio.TlsCertificate, private readonly sender: Gio.InetAddress,
        private readonly folder: string, private readonly count: number, private readonly fetches: number | null) {}

    async serve(reader: PacketReader, link: Gio.TlsConnection): Promise<void> {
        let told = false;
        while (this.tEnd === null) {
            const p = await nextPacket(reader);
            const body = p.body;
            if (p.type !== 'kdeconnect.share.request' || typeof body.filename !== 'string')
                continue;
            if (this.fetches !== null && !told) {
                told = true;
                await writeAll(link.output_stream, encodePacket(fetchesPacket(this.fetches)), null);
            }
            const t: Trace = {'rx.announced': GLib.get_monotonic_time()};
            const name = GLib.path_get_basename(body.filename);
            const mtime = typeof body.lastModified === 'number' ? body.lastModified : null;
            const fetch = p.payloadTransferInfo
                ? this.fetch(name, p.payloadSize ?? 0, p.payloadTransferInfo.port, mtime, t)
                : this.place(Gio.File.new_for_path(`${this.folder}/${name}.partial`), name, mtime, 'empty');
            fetch.then(() => {
                this.trace.push(...Object.entries(t).map(([ev, us]) => [ev, name, us] as [string, string, number]));
                this.done++;
            }, (e: unknown) => this.errors.push(`${name}: ${errorMessage(e)}`)).finally(() => this.settled());
        }
    }

    private settled(): void {
        if (this.tEnd === null && this.done + this.errors.length >= this.count) {
            this.tEnd = GLib.get_monotonic_time();
            this.finished();
        }
    }

    private async fetch(name: string, size: number, port: number, mtime: number | null, t: Trace): Promise<void> {
        const tcp = await connectTcp(this.sender, port, 10, null);
        setNoDelay(tcp);
        t['rx.connected'] = GLib.get_monotonic_time();
        const partial = Gio.File.new_for_path(`${this.folder}/${name}.partial`);
        // the partial file is made while the handshake goes on
        const creating = createFile(partial, Gio.FileCreateFlags.NONE, GLib.PRIORITY_DEFAULT, null);
        creating.catch(() => undefined);
        const tls = tlsClient(tcp, this.cert, {expected: null});
        try {
            await handshake(tls, null);
            t['rx.handshake'] = GLib.get_monotonic_time();
            const out = await creating;
            if (size <= SMALL) {
                // in memory, then one GIO call that writes and closes the partial file
                const content = new Gio.MemoryInputStream();
                for (let got = 0; got < size;) {
                    const bytes = await readBytes(tls.input_stream, size - got, GLib.PRIORITY_DEFAULT, null);
                    if (bytes.get_size() === 0)
                        throw new Error(`the payload ended at ${got} of ${size} bytes`);
                    content.add_bytes(bytes);
                    got += bytes.get_size();
                }
                await spliceFrom(out, content, SPLICE.CLOSE_SOURCE | SPLICE.CLOSE_TARGET, GLib.PRIORITY_DEFAULT, null);
            } else {
                const input = new Gio.BufferedInputStream({base_stream: tls.input_stream, buffer_size: SMALL,
                    close_base_stream: false});
                // kdeconnectd hangs up without a close_notify: the bytes that arrived are what counts
                const moved = await spliceFrom(out, input, SPLICE.CLOSE_TARGET, GLib.PRIORITY_DEFAULT, null).catch(() => -1);
                const got = moved >= 0 ? moved : (await partial.query_info_async('standard::size', Gio.FileQueryInfoFlags.NONE,
                    GLib.PRIORITY_DEFAULT, null)).get_size();
                if (got < size)
                    throw new Error(`the payload ended at ${got} of ${size} bytes`);
            }
            t['rx.lastByte'] = GLib.get_monotonic_time();
        } finally {
            // kdeconnectd hangs up after its last byte: no TLS close is owed; a Ferry waits for one
            if (this.fetches === null)
                closeSocket(tls);
            else
                await closeStream(tls);
            t['rx.closed'] = GLib.get_monotonic_time();
        }
        await this.place(partial, name, mtime, null);
        t['rx.done'] = GLib.get_monotonic_time();
    }

    private async place(partial: Gio.File, name: string, mtime: number | null, empty: 'empty' | null): Promise<void> {
        if (empty)
            await callAsync(cb => partial.replace_contents_bytes_async(new GLib.Bytes(new Uint8Array(0)), null, false,
                Gio.FileCreateFlags.NONE, null, cb), res => partial.replace_contents_finish(res));
        const final = Gio.File.new_for_path(`${this.folder}/${name}`);
        await moveFile(partial, final, Gio.FileCopyFlags.NONE, GLib.PRIORITY_DEFAULT, null);
        if (mtime !== null) {
            const info = new Gio.FileInfo();
            info.set_attribute_uint64('time::modified', Math.floor(mtime / 1000));
            info.set_attribute_uint32('time::modified-usec', (mtime % 1000) * 1000);
            await setFileAttributes(final, info, Gio.FileQueryInfoFlags.NONE, GLib.PRIORITY_DEFAULT, null);
        }
    }
}

/** Sends `paths` over the link as one batch: announce, accept, handshake, bytes, wait for the close; file after file. */
async function send(link: Gio.TlsConnection, cert: Gio.TlsCertificate, paths: string[], confirm: boolean): Promise<void> {
    const listener = new Gio.SocketListener();
    listener.add_inet_port(PAYLOAD_PORT_MIN, null);
    const files = await Promise.all(paths.map(async path => {
        const file = Gio.File.new_for_path(path);
        const info = await file.query_info_async('standard::size,time::modified', Gio.FileQueryInfoFlags.NONE,
            GLib.PRIORITY_DEFAULT, null);
        return {file, name: GLib.path_get_basename(path), size: info.get_size(),
            mtime: (info.get_modification_date_time()?.to_unix() ?? 0) * 1000};
    }));
    const total = files.reduce((sum, f) => sum + f.size, 0);
    for (const {file, name, size, mtime} of files) {
        // a small file is read while the receiver connects and shakes hands
        const content = size <= SMALL ? callAsync(cb => file.load_bytes_async(null, cb), res => file.load_bytes_finish(res)[0]) : null;
        content?.catch(() => undefined);
        const accepting = callAsync(cb => listener.accept_async(null, cb), res => listener.accept_finish(res)[0]);
        await writeAll(link.output_stream, encodePacket(fileShareRequest({filename: name, size, port: PAYLOAD_PORT_MIN,
            lastModified: mtime, numberOfFiles: files.length, totalPayloadSize: total})), null);
        const tcp = await accepting;
        setNoDelay(tcp);
        const tls = tlsServer(tcp, cert, {expected: null});
        try {
            await handshake(tls, null);
            if (content) {
                await writeAllBytes(tls.output_stream, await content, null);
            } else {
                const input = await openFile(file, GLib.PRIORITY_DEFAULT, null);
                const out = new Gio.BufferedOutputStream({base_stream: tls.output_stream, buffer_size: 1 << 20, close_base_stream: false});
                await spliceFrom(out, input, SPLICE.CLOSE_SOURCE | SPLICE.CLOSE_TARGET, GLib.PRIORITY_DEFAULT, null);
            }
            // the end of the stream, then the receiver's close: the confirmation Ferry waits for
            // (--unconfirmed: none, the next file at once, as kdeconnectd's sender does)
            await closeOutput(tls.output_stream, GLib.PRIORITY_DEFAULT, null);
            tcp.get_socket().shutdown(false, true);
            while (confirm && (await readBytes(tls.input_stream, 4096, GLib.PRIORITY_DEFAULT, null).catch(() => null))?.get_size())
                ;
        } finally {
            closeSocket(tls);
        }
    }
    listener.close();
}

async function main(args: string[]): Promise<number> {
    if (args[0] === 'send') {
        const confirm = args[1] !== '--unconfirmed';
        const [config, deviceId, peerIp, ...paths] = args.slice(confirm ? 1 : 2);
        promisifyGio();
        const cert = Gio.TlsCertificate.new_from_files(`${config}/certificate.pem`, `${config}/private.pem`);
        const {reader, tls} = await linkWith(cert, deviceId, Gio.InetAddress.new_from_string(peerIp));
        // the link is read (and what comes on it dropped) while the files go
        const draining = (async () => {
            for (;;)
                await nextPacket(reader);
        })();
        draining.catch(() => undefined);
        print('ready');
        const tStart = GLib.get_monotonic_time(), cpu0 = cpuSeconds('/proc/self/stat');
        await send(tls, cert, paths, confirm);
        print(JSON.stringify({t_start_us: tStart, files: paths.length,
            cpu_ms_per_file: (cpuSeconds('/proc/self/stat') - cpu0) * 1000 / paths.length}));
        return 0;
    }
    const [config, deviceId, senderIp, folder, count, flag, fetches] = args;
    promisifyGio();
    GLib.mkdir_with_parents(folder, 0o755);
    const cert = Gio.TlsCertificate.new_from_files(`${config}/certificate.pem`, `${config}/private.pem`);
    const sender = Gio.InetAddress.new_from_string(senderIp);
    const r = new Receiver(cert, sender, folder, Number(count), flag === '--fetches' ? Number(fetches) : null);
    const finished = new Promise<void>(resolve => (r.finished = resolve));
    const {reader, tls} = await linkWith(cert, deviceId, sender);
    print('ready');
    const cpu0 = cpuSeconds('/proc/self/stat');
    r.serve(reader, tls).catch((e: unknown) => {
        r.errors.push(`the link ended after ${r.done} files: ${errorMessage(e)}`);
        r.tEnd ??= GLib.get_monotonic_time();
        r.finished();
    });
    await finished;
    print(JSON.stringify({delivered: r.done, errors: r.errors, t_end_us: r.tEnd, trace: r.trace, max_at_once: 0,
        cpu_ms_per_file: (cpuSeconds('/proc/self/stat') - cpu0) * 1000 / Math.max(1, r.done)}));
    return r.done >= Number(count) && r.errors.length === 0 ? 0 : 1;
}

const loop = new GLib.MainLoop(null, false);
let code = 1;
main(ARGV).then(c => (code = c), (e: unknown) => printerr(`ideal_gio: ${errorMessage(e)}`)).finally(() => loop.quit());
loop.run();
System.exit(code);
