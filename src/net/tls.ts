// TLS connections for KDE Connect links and payloads: mutual certificates, no CA database
// (peers use self-signed certificates; building the system trust list costs ~20 ms on the
// calling thread per connection), and pinning in `accept-certificate`.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import {callAsync, cancelAfter} from './gio.js';

function newTlsObject<T extends Gio.TlsConnection>(type: GObject.GType, base: Gio.IOStream,
    certificate: Gio.TlsCertificate): T {
    const names = ['base-io-stream', 'database', 'certificate'];
    const values = [
        [Gio.IOStream.$gtype, base],
        [Gio.TlsDatabase.$gtype, null],
        [Gio.TlsCertificate.$gtype, certificate],
    ].map(([gtype, obj]) => {
        const v = new GObject.Value();
        v.init(gtype as GObject.GType);
        v.set_object(obj as GObject.Object | null);
        return v;
    });
    // new_with_properties is missing from the typings; it is the only way to pass database=NULL
    const construct = (GObject.Object as unknown as {
        new_with_properties(t: GObject.GType, n: string[], v: GObject.Value[]): GObject.Object;
    }).new_with_properties;
    const conn = construct(type, names, values) as T;
    Gio.Initable.prototype.init.call(conn, null);
    return conn;
}

export interface PinPolicy {
    /** The certificate the peer must present, or null to accept any (unpaired). */
    expected: Gio.TlsCertificate | null;
    /** Set when the peer presented a certificate other than `expected`. */
    mismatch?: boolean;
}

function requireAndPin(conn: Gio.TlsConnection, pin: PinPolicy): void {
    conn.connect('accept-certificate', (_c: Gio.TlsConnection, peer: Gio.TlsCertificate) => {
        if (!pin.expected)
            return true;
        if (peer.is_same(pin.expected))
            return true;
        pin.mismatch = true;
        return false;
    });
}

type AsyncStart = (this: object, priority: number, cancellable: Gio.Cancellable | null,
    callback: (source: unknown, result: Gio.AsyncResult) => void) => void;

export function tlsServer(base: Gio.IOStream, certificate: Gio.TlsCertificate, pin: PinPolicy): Gio.TlsServerConnection {
    const type = Gio.TlsBackend.get_default().get_server_connection_type();
    const conn = newTlsObject<Gio.TlsServerConnection>(type, base, certificate);
    conn.authentication_mode = Gio.TlsAuthenticationMode.REQUIRED;
    requireAndPin(conn, pin);
    return conn;
}

export function tlsClient(base: Gio.IOStream, certificate: Gio.TlsCertificate, pin: PinPolicy): Gio.TlsClientConnection {
    const type = Gio.TlsBackend.get_default().get_client_connection_type();
    const conn = newTlsObject<Gio.TlsClientConnection>(type, base, certificate);
    requireAndPin(conn, pin);
    return conn;
}

// GnuTLS connections also implement GDtlsConnection, whose handshake_async/close_async shadow
// the TLS and IOStream ones on the instance in gjs: call the intended vfuncs explicitly.
export function handshake(conn: Gio.TlsConnection, cancellable: Gio.Cancellable | null,
    priority = GLib.PRIORITY_DEFAULT): Promise<void> {
    const start = Gio.TlsConnection.prototype.handshake_async as unknown as AsyncStart;
    return callAsync(cb => start.call(conn, priority, cancellable, cb),
        res => {
            Gio.TlsConnection.prototype.handshake_finish.call(conn, res);
        });
}

const CLOSE_TIMEOUT_MS = 2000;

/**
 * Closes a connection: a TLS close_notify if the peer takes it within CLOSE_TIMEOUT_MS, and then,
 * in any case, the socket under it (a peer that reads nothing must not keep it open).
 */
export async function closeStream(stream: Gio.IOStream, priority = GLib.PRIORITY_DEFAULT): Promise<void> {
    const start = Gio.IOStream.prototype.close_async as unknown as AsyncStart;
    const cancellable = new Gio.Cancellable();
    const disarm = cancelAfter(cancellable, CLOSE_TIMEOUT_MS);
    try {
        await callAsync(cb => start.call(stream, priority, cancellable, cb), res => {
            Gio.IOStream.prototype.close_finish.call(stream, res);
        });
    } catch {
        // closing a broken connection fails; it is closed below all the same
    } finally {
        disarm();
    }
    closeSocket(stream);
}

/**
 * Closes the socket under `stream` now, without a TLS close_notify: only where the notify would
 * tell the peer nothing, as for a sender whose receiver confirmed the end of its stream already
 * (sendPayload), and saves a worker thread's round trip. Not for a receiver: its close_notify is
 * what a Ferry sender reads as the confirmation (confirmDelivery). GSocket remembers that it is
 * closed: the TLS connection's own close, when it is collected, then fails at once without
 * touching the descriptor.
 */
export function closeSocket(stream: Gio.IOStream): void {
    const base = stream instanceof Gio.TlsConnection ? stream.base_io_stream : stream;
    if (base instanceof Gio.SocketConnection) {
        try {
            base.get_socket().close();
        } catch {
            // already closed
        }
    }
}

export function certificateDer(cert: Gio.TlsCertificate): Uint8Array {
    const der = cert.certificate;
    if (!der)
        throw new Error('certificate has no DER data');
    return der instanceof Uint8Array ? der : (der as GLib.Bytes).toArray();
}
