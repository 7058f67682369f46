// The per-file floor of a TLS stack, for `npm run bench`: N connections one after the other,
// each a TCP connect, a mutual TLS handshake (the certificates of the bench's Ferry identities)
// and 4 KiB from the server, through the same calls Ferry's payload path makes
// (src/net/gio.ts, src/net/tls.ts), with nothing of Ferry's engine around them.
// bench/handshakes.py is the same with Python's OpenSSL; either end can talk to either.
//   gjs -m build/bench/handshakes.js serve PORT N CERT KEY [PEER_CERT, unused: for bench/handshakes.py]
//   gjs -m build/bench/handshakes.js connect HOST PORT N CERT KEY   (prints one JSON line)
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import {callAsync, connectTcp, errorMessage, promisifyGio, setNoDelay, writeAll} from '../src/net/gio.js';
import {closeStream, handshake, tlsClient, tlsServer} from '../src/net/tls.js';

const PAYLOAD = new Uint8Array(4096).fill(7);

async function serve(port: number, n: number, cert: Gio.TlsCertificate): Promise<void> {
    const listener = new Gio.SocketListener();
    listener.add_inet_port(port, null);
    print('ready');
    for (let i = 0; i < n; i++) {
        const [tcp] = await callAsync(cb => listener.accept_async(null, cb), res => listener.accept_finish(res));
        setNoDelay(tcp);
        const tls = tlsServer(tcp, cert, {expected: null});
        await handshake(tls, null);
        await writeAll(tls.output_stream, PAYLOAD, null);
        // the client's close is the end of the file, as a receiver's close is for Ferry's sender
        await tls.input_stream.read_bytes_async(1, GLib.PRIORITY_DEFAULT, null).catch(() => null);
        await closeStream(tls);
    }
    listener.close();
}

async function connect(host: string, port: number, n: number, cert: Gio.TlsCertificate): Promise<void> {
    const address = Gio.InetAddress.new_from_string(host);
    const steps: Record<string, number[]> = {connected: [], handshake: [], lastByte: [], closed: []};
    const t0 = GLib.get_monotonic_time();
    for (let i = 0; i < n; i++) {
        const start = GLib.get_monotonic_time();
        const at = (name: string) => steps[name].push((GLib.get_monotonic_time() - start) / 1000);
        const tcp = await connectTcp(address, port, 10, null);
        setNoDelay(tcp);
        at('connected');
        const tls = tlsClient(tcp, cert, {expected: null});
        await handshake(tls, null);
        at('handshake');
        let got = 0;
        while (got < PAYLOAD.length) {
            const b = await tls.input_stream.read_bytes_async(PAYLOAD.length - got, GLib.PRIORITY_DEFAULT, null);
            if (b.get_size() === 0)
                throw new Error(`the server sent ${got} of ${PAYLOAD.length} bytes`);
            got += b.get_size();
        }
        at('lastByte');
        await closeStream(tls);
        at('closed');
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const total = (GLib.get_monotonic_time() - t0) / 1000;
    print(JSON.stringify({connections: n, ms_per_connection: total / n,
        median_ms: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, median(v)]))}));
}

async function main(): Promise<void> {
    promisifyGio();
    const [mode, ...a] = System.programArgs;
    if (mode === 'serve')
        await serve(Number(a[0]), Number(a[1]), Gio.TlsCertificate.new_from_files(a[2], a[3]));
    else
        await connect(a[0], Number(a[1]), Number(a[2]), Gio.TlsCertificate.new_from_files(a[3], a[4]));
}

const loop = new GLib.MainLoop(null, false);
let code = 0;
main().catch(e => {
    printerr(`handshakes: ${errorMessage(e)}`);
    code = 1;
}).finally(() => loop.quit());
loop.run();
System.exit(code);
