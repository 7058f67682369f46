// The payload path's sockets on loopback: both ends of a payload connection turn Nagle's
// algorithm off. With it on, a TLS handshake's second small write waited for a delayed
// acknowledgement, 40 ms of every small file's 57 ms (docs/benchmarks.md, "Many files").
import Gio from 'gi://Gio';

import {promisifyGio, setNoDelay} from '../../src/net/gio.js';
import {PayloadServer} from '../../src/net/payload.js';

const IPPROTO_TCP = 6, TCP_NODELAY = 1;

function noDelay(conn: Gio.SocketConnection): number {
    const [, value] = conn.get_socket().get_option(IPPROTO_TCP, TCP_NODELAY);
    return value;
}

describe('payload sockets', () => {
    beforeAll(() => promisifyGio());

    it('are accepted with TCP_NODELAY on, and setNoDelay turns it on for a connecting side', async () => {
        const server = new PayloadServer();
        try {
            const accepting = server.accept(null, 5000);
            const client = new Gio.SocketClient({enable_proxy: false});
            const out = await client.connect_async(new Gio.InetSocketAddress({
                address: Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4), port: server.port}), null);
            const accepted = await accepting;
            expect(noDelay(accepted)).not.toBe(0);
            // a plain connection has Nagle on: the check above can fail
            expect(noDelay(out)).toBe(0);
            setNoDelay(out);
            expect(noDelay(out)).not.toBe(0);
            out.close(null);
            accepted.close(null);
        } finally {
            server.close();
        }
    });
});


