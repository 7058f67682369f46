// Reading one UDP datagram without blocking, on every GLib Ferry runs on.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

type ReceiveBytesFrom = (size: number, timeout: number, cancellable: Gio.Cancellable | null) => [GLib.Bytes, Gio.SocketAddress];

export class DatagramReader {
    private fallbackStream: Gio.InputStream | null = null;

    constructor(private readonly socket: Gio.Socket) {}

    /**
     * Reads one datagram (at most `max` bytes of it); null when there was none, or when `allowed`
     * refuses its sender (then as little as possible is read, and the rest discarded). Throws
     * WOULD_BLOCK when nothing is waiting.
     */
    read(max: number, allowed: (address: Gio.InetAddress) => boolean): [Uint8Array, Gio.InetAddress, number] | null {
        // GLib ≥ 2.80 has receive_bytes_from; older gjs cannot call receive_from (caller-allocated
        // buffer), so peek the sender's address and read the datagram through a stream on the fd.
        const withBytes = (this.socket as unknown as {receive_bytes_from?: ReceiveBytesFrom}).receive_bytes_from;
        if (withBytes) {
            const [bytes, addr] = withBytes.call(this.socket, max, 0, null);
            const address = (addr as Gio.InetSocketAddress).get_address();
            return allowed(address) ? [bytes.toArray(), address, (addr as Gio.InetSocketAddress).get_port()] : null;
        }
        const [, addr] = this.socket.receive_message([], Gio.SocketMsgFlags.PEEK, null);
        if (!addr)
            return null;
        const address = (addr as Gio.InetSocketAddress).get_address();
        this.fallbackStream ??= new Gio.UnixInputStream({fd: this.socket.get_fd(), close_fd: false});
        const ok = allowed(address);
        const bytes = this.fallbackStream.read_bytes(ok ? max : 1, null);
        return ok ? [bytes.toArray(), address, (addr as Gio.InetSocketAddress).get_port()] : null;
    }
}

export function isWouldBlock(e: unknown): boolean {
    return e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.WOULD_BLOCK);
}
