// Reading UDP datagrams without blocking, on every GLib Ferry runs on, within a budget.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {BucketLimiter} from '../protocol/rateLimit.js';

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

/** How long a socket over its budget is left unread. */
const PAUSE_MS = 250;

/**
 * Calls `onReadable` whenever a datagram waits on `socket`, at most as often as `budget` allows
 * (all datagrams together): over it, the socket is left unread for a while and the kernel drops
 * what piles up, so a flood cannot own the main loop (R6 of docs/reliability.md).
 */
export class BudgetedReceiver {
    private source: GLib.Source | null = null;
    private pauseId = 0;

    constructor(private readonly socket: Gio.Socket, private readonly budget: BucketLimiter,
        private readonly priority: number, private readonly onReadable: () => void) {}

    start(): void {
        const source = this.socket.create_source(GLib.IOCondition.IN, null);
        source.set_callback(() => {
            if (!this.budget.allow('all', GLib.get_monotonic_time() / 1000)) {
                this.source?.destroy();
                this.source = null;
                this.pauseId = GLib.timeout_add(GLib.PRIORITY_LOW, PAUSE_MS, () => {
                    this.pauseId = 0;
                    this.start();
                    return GLib.SOURCE_REMOVE;
                });
                return GLib.SOURCE_REMOVE;
            }
            this.onReadable();
            return GLib.SOURCE_CONTINUE;
        });
        source.set_priority(this.priority);
        source.attach(null);
        this.source = source;
    }

    stop(): void {
        if (this.pauseId)
            GLib.source_remove(this.pauseId);
        this.pauseId = 0;
        this.source?.destroy();
        this.source = null;
    }
}
