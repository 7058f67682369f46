// The payload path's sockets on loopback: both ends of a payload connection turn Nagle's
// algorithm off. With it on, a TLS handshake's second small write waited for a delayed
// acknowledgement, 40 ms of every small file's 57 ms (docs/benchmarks.md, "Many files").
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import {errorMessage, promisifyGio, setNoDelay, sliceBytes, writeAllBytes} from '../../src/net/gio.js';
import {receivePayload, sendPayload} from '../../src/net/payload.js';
import {PayloadServer} from '../../src/net/payloadServer.js';
import {makeCert, tmpDir} from '../lib/certs.js';
import {sleep} from '../lib/proc.js';

const IPPROTO_TCP = 6, TCP_NODELAY = 1;

function noDelay(conn: Gio.SocketConnection): number {
    const [, value] = conn.get_socket().get_option(IPPROTO_TCP, TCP_NODELAY);
    return value;
}

/** Runs `body` with a new payload server, closed afterwards however `body` ends. */
async function withServer(body: (server: PayloadServer) => Promise<void>): Promise<void> {
    const server = new PayloadServer();
    try {
        await body(server);
    } finally {
        server.close();
    }
}

/** A plain loopback connection to `server`: the connecting end and the accepted one. */
async function connectTo(server: PayloadServer): Promise<{out: Gio.SocketConnection; accepted: Gio.SocketConnection}> {
    const accepting = server.accept(null, 5000);
    const client = new Gio.SocketClient({enable_proxy: false});
    const out = await client.connect_async(new Gio.InetSocketAddress({
        address: Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4), port: server.port}), null);
    return {out, accepted: await accepting};
}

describe('payload sockets', () => {
    beforeAll(() => promisifyGio());

    it('are accepted with TCP_NODELAY on, and setNoDelay turns it on for a connecting side', async () => {
        await withServer(async server => {
            const {out, accepted} = await connectTo(server);
            expect(noDelay(accepted)).not.toBe(0);
            // a plain connection has Nagle on: the check above can fail
            expect(noDelay(out)).toBe(0);
            setNoDelay(out);
            expect(noDelay(out)).not.toBe(0);
            out.close(null);
            accepted.close(null);
        });
    });

    it('write a GBytes whole when the socket takes it a part at a time (on every GLib: 2.90 made slicing a constructor)', async () => {
        await withServer(async server => {
            const {out, accepted} = await connectTo(server);
            // small buffers: 8 MiB cannot go in one write
            out.get_socket().set_option(1 /* SOL_SOCKET */, 7 /* SO_SNDBUF */, 4096);
            const data = new Uint8Array(8 << 20);
            for (let i = 0; i < data.length; i += 4096)
                data[i] = (i >> 12) & 0xff;
            const checksum = GLib.compute_checksum_for_data(GLib.ChecksumType.SHA256, data);
            const writing = writeAllBytes(out.output_stream, new GLib.Bytes(data), null).then(() => out.close(null));
            const got = new GLib.Checksum(GLib.ChecksumType.SHA256);
            let received = 0, reads = 0;
            for (;;) {
                const b = await accepted.input_stream.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, null);
                if (b.get_size() === 0)
                    break;
                got.update(b.toArray());
                received += b.get_size();
                reads++;
            }
            await writing;
            expect(received).toBe(data.length);
            expect(got.get_string()).toBe(checksum ?? 'no checksum');
            expect(reads).toBeGreaterThan(1);
            const slice = sliceBytes(new GLib.Bytes(new Uint8Array([1, 2, 3, 4, 5])), 1, 3);
            expect([...slice.toArray()]).toEqual([2, 3, 4]);
            accepted.close(null);
        });
    }, 30000);
});

/** A plain loopback connection to `port`, or the error connecting gave. */
async function dial(port: number): Promise<Gio.SocketConnection> {
    const client = new Gio.SocketClient({enable_proxy: false});
    return client.connect_async(new Gio.InetSocketAddress({address: Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4), port}), null);
}

/** What the far end did with `conn`: 'closed' (end of stream or reset) once it was closed. */
async function readEnd(conn: Gio.SocketConnection): Promise<string> {
    try {
        const b = await conn.input_stream.read_bytes_async(16, GLib.PRIORITY_DEFAULT, null);
        return b.get_size() === 0 ? 'closed' : 'data';
    } catch {
        return 'closed';
    }
}

describe('payload server', () => {
    beforeAll(() => promisifyGio());

    it('hands over a connection made before accept() asked for one', async () => {
        await withServer(async server => {
            const out = await dial(server.port);
            // the service has taken it meanwhile: accept() must not wait for another
            await sleep(100);
            const accepted = await server.accept(null, 2000);
            await accepted.output_stream.write_bytes_async(new GLib.Bytes(new Uint8Array([7])), GLib.PRIORITY_DEFAULT, null);
            const got = await out.input_stream.read_bytes_async(1, GLib.PRIORITY_DEFAULT, null);
            expect([...got.toArray()]).toEqual([7]);
            out.close(null);
            accepted.close(null);
        });
    });

    it('says the device did not connect when no one does, and a cancelled accept leaves the next connection to the next accept', async () => {
        await withServer(async server => {
            await expectAsync(server.accept(null, 200)).toBeRejectedWithError(/did not connect to fetch the file within 0 s/);
            const c = new Gio.Cancellable();
            const given = server.accept(c, 5000);
            c.cancel();
            await expectAsync(given).toBeRejected();
            const out = await dial(server.port);
            const accepted = await server.accept(null, 2000);
            expect(accepted.get_remote_address().to_string()).toBe(out.get_local_address().to_string());
            out.close(null);
            accepted.close(null);
        });
    });

    it('turns connections away while its port is held, then lets the port go and says so once', async () => {
        const server = new PayloadServer();
        let closed = 0;
        server.refuseFor(400, () => closed++);
        const out = await dial(server.port);
        expect(await readEnd(out)).toBe('closed');
        out.close(null);
        expect(closed).toBe(0);
        await sleep(700);
        expect(closed).toBe(1);
        await expectAsync(dial(server.port)).toBeRejected();
        server.close();
        expect(closed).toBe(1);
    });

    it('ends a held port early on close(), saying so once', async () => {
        const server = new PayloadServer();
        let closed = 0;
        server.refuseFor(60_000, () => closed++);
        server.close();
        server.close();
        expect(closed).toBe(1);
        await expectAsync(dial(server.port)).toBeRejected();
        await expectAsync(server.accept(null, 1000)).toBeRejectedWithError(/closed/);
    });
});

describe('a small file sent', () => {
    beforeAll(() => promisifyGio());

    // the sender reads a small file while the receiver shakes hands (docs/benchmarks.md): a file
    // that is not the size announced any more is seen before a byte of it goes out
    it('that grew or shrank since it was announced is not sent: the send names both sizes, the receiver gets none of it', async () => {
        const dir = tmpDir('small-changed');
        const [a, b] = await Promise.all([makeCert(dir, 'sender', 'ec'), makeCert(dir, 'receiver', 'ec')]);
        const senderCert = Gio.TlsCertificate.new_from_files(a.cert, a.key);
        const receiverCert = Gio.TlsCertificate.new_from_files(b.cert, b.key);
        const content = new TextEncoder().encode('ten bytes!');
        for (const announced of [content.length - 1, content.length + 1]) {
            const source = Gio.File.new_for_path(`${dir}/source-${announced}`);
            source.replace_contents(content, null, false, Gio.FileCreateFlags.NONE, null);
            const target = Gio.File.new_for_path(`${dir}/target-${announced}`);
            await withServer(async server => {
                const accepting = server.accept(null, 5000);
                const receiving = receivePayload({address: Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4),
                    port: server.port, size: announced, out: () => target.create_async(Gio.FileCreateFlags.NONE, 0, null),
                    certificate: receiverCert, peerCertificate: senderCert, cancellable: null, onProgress: () => undefined})
                    .then(n => `received ${n}`, (e: unknown) => errorMessage(e));
                const tcp = await accepting;
                const sent = await sendPayload({tcp, input: source.read(null), size: announced, certificate: senderCert,
                    peerCertificate: receiverCert, cancellable: null, onProgress: () => undefined})
                    .then(how => `sent: ${how}`, (e: unknown) => errorMessage(e));
                // it reads one byte more than announced: a file that grew says announced + 1
                const seen = Math.min(content.length, announced + 1);
                expect(sent).toBe(`the file changed while it was sent (${seen} bytes instead of ${announced})`);
                expect(await receiving).toBe(`the device sent 0 of ${announced} bytes`);
                expect(target.query_info('standard::size', Gio.FileQueryInfoFlags.NONE, null).get_size()).toBe(0);
            });
        }
    }, 30000);
});
