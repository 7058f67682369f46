// The sender's side of a payload connection before TLS: a port in 1739–1764 that one receiver
// connects to.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {PAYLOAD_PORT_MAX, PAYLOAD_PORT_MIN} from '../protocol/limits.js';
import {cancelAfter, cancelledError, childCancellable, isCancelled, setNoDelay} from './gio.js';
import {PayloadError} from './payload.js';

/** How long a sender waits for the receiver to connect (kdeconnectd waits 30 s too). */
export const ACCEPT_TIMEOUT_MS = 30_000;

/** Closes a connection nobody is to fetch on, without waiting. */
function hangUp(conn: Gio.SocketConnection): void {
    conn.close_async(GLib.PRIORITY_DEFAULT, null, null);
}

/**
 * A TLS payload server on the first free port in 1739–1764.
 *
 * Connections come from a GSocketService, never from g_socket_listener_accept_async called from
 * JS. Until GLib 2.86 that call's GTask keeps its socket source (destroyed, but still in the
 * main context's list of sources) until the task is finalised, and a task whose result reached
 * JS is finalised only when the garbage collector next runs. A batch of small files piled up
 * one such source per file: every main-loop turn walked them all, and the sender's main thread
 * spent 15 % of its time there after a thousand files. GSocketService accepts in C and lets go
 * of each task at once.
 */
export class PayloadServer {
    private readonly service = new Gio.SocketService();
    private readonly incomingId: number;
    /** Connections that came before accept() asked for one. */
    private readonly queued: Gio.SocketConnection[] = [];
    private waiter: ((conn: Gio.SocketConnection) => void) | null = null;
    private refusing: (() => void) | null = null;
    private closed = false;
    readonly port: number;

    constructor() {
        let port = 0;
        for (let p = PAYLOAD_PORT_MIN; p <= PAYLOAD_PORT_MAX && !port; p++) {
            try {
                this.service.add_inet_port(p, null);
                port = p;
            } catch {
                // taken: try the next one
            }
        }
        if (!port) {
            this.service.close();
            throw new PayloadError(`no free payload port in ${PAYLOAD_PORT_MIN}–${PAYLOAD_PORT_MAX}`);
        }
        this.port = port;
        this.incomingId = this.service.connect('incoming', (_service, conn) => {
            this.take(conn);
            return true;
        });
        this.service.start();
    }

    private take(conn: Gio.SocketConnection): void {
        if (this.refusing || this.closed) {
            hangUp(conn);
        } else if (this.waiter) {
            this.waiter(conn);
        } else {
            this.queued.push(conn);
        }
    }

    /** Waits for the receiver's connection; times out after ACCEPT_TIMEOUT_MS. */
    async accept(cancellable: Gio.Cancellable | null, timeoutMs = ACCEPT_TIMEOUT_MS): Promise<Gio.SocketConnection> {
        if (this.closed)
            throw new PayloadError('the payload port is closed');
        const ready = this.queued.shift();
        if (ready) {
            setNoDelay(ready);
            return ready;
        }
        const {cancellable: c, release} = childCancellable(cancellable);
        const disarm = cancelAfter(c, timeoutMs);
        let cancelId = 0;
        try {
            const conn = await new Promise<Gio.SocketConnection>((resolve, reject) => {
                this.waiter = resolve;
                cancelId = c.connect(() => reject(cancelledError()));
            });
            setNoDelay(conn);
            return conn;
        } catch (e) {
            if (isCancelled(e) && !cancellable?.is_cancelled())
                throw new PayloadError(`the device did not connect to fetch the file within ${Math.round(timeoutMs / 1000)} s`);
            throw e;
        } finally {
            this.waiter = null;
            if (cancelId)
                c.disconnect(cancelId);
            disarm();
            release();
        }
    }

    /**
     * Keeps the port bound for `ms` more, closing at once every connection made to it, then
     * closes it and calls `onClosed`. close() ends this early.
     */
    refuseFor(ms: number, onClosed: () => void): void {
        this.queued.splice(0).forEach(hangUp);
        const timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            this.refusing = null;
            this.close();
            onClosed();
            return GLib.SOURCE_REMOVE;
        });
        this.refusing = () => {
            GLib.source_remove(timer);
            onClosed();
        };
    }

    close(): void {
        if (this.closed)
            return;
        this.closed = true;
        this.service.stop();
        this.service.close();
        this.service.disconnect(this.incomingId);
        this.queued.splice(0).forEach(hangUp);
        const refusing = this.refusing;
        this.refusing = null;
        refusing?.();
    }
}
