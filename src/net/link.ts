// An established, encrypted connection to one device: packets in, packets out.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Emitter} from '../lib/emitter.js';
import {Identity} from '../protocol/identity.js';
import {MAX_PACKET_BYTES} from '../protocol/limits.js';
import {Packet, PacketError, encodePacket} from '../protocol/packet.js';
import {errorMessage, isCancelled, writeAll} from './gio.js';
import {PacketReader} from './packetReader.js';
import {closeStream} from './tls.js';

const WRITE_TIMEOUT_MS = 10_000;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export type LinkEvents = {
    packet: [Packet];
    /** A line that was not a valid packet; the link stays up. */
    malformed: [PacketError];
    closed: [string | null];
};

export class Link extends Emitter<LinkEvents> {
    private readonly cancellable = new Gio.Cancellable();
    private writeChain: Promise<void> = Promise.resolve();
    private queuedBytes = 0;
    private closedReason: string | null | undefined = undefined;
    /** The timer that closes a replaced link (0: none). */
    private retireTimer = 0;
    /** When the link was set up (monotonic, ms). */
    readonly sinceMs = GLib.get_monotonic_time() / 1000;

    constructor(
        readonly connection: Gio.TlsConnection,
        readonly reader: PacketReader,
        /** The peer's identity (from inside TLS for protocol 8). */
        readonly identity: Identity,
        readonly peerCertificate: Gio.TlsCertificate,
        readonly remoteAddress: Gio.InetAddress,
        /** The protocol version both sides speak on this link. */
        readonly protocolVersion: number,
        /** True when we opened the TCP connection. */
        readonly outgoing: boolean,
    ) {
        super();
        reader.setLimit(MAX_PACKET_BYTES);
    }

    /** The longest line this link accepts from now on (unpaired devices get less). */
    setPacketLimit(maxBytes: number): void {
        this.reader.setLimit(maxBytes);
    }

    get deviceId(): string {
        return this.identity.deviceId;
    }

    get closed(): boolean {
        return this.closedReason !== undefined;
    }

    /** Starts delivering packets; call once the handlers are connected. */
    start(): void {
        this.readLoop().catch(e => this.close(errorMessage(e)));
    }

    private async readLoop(): Promise<void> {
        while (!this.closed) {
            let result;
            try {
                result = await this.reader.read(this.cancellable);
            } catch (e) {
                if (!isCancelled(e))
                    this.close(errorMessage(e));
                return;
            }
            if (result === null) {
                this.close('the device closed the connection');
                return;
            }
            if (result instanceof PacketError)
                this.emit('malformed', result);
            else
                this.emit('packet', result);
        }
    }

    /**
     * Sends a packet; packets are written one after another in the order given. A device that
     * stops reading (a write pending for WRITE_TIMEOUT_MS, or more than MAX_QUEUED_BYTES waiting)
     * loses the link: it must not hold our memory or our side of the connection forever.
     */
    send(packet: Packet): Promise<void> {
        const data = encodePacket(packet);
        if (this.queuedBytes + data.length > MAX_QUEUED_BYTES) {
            this.close('the device does not read what we send');
            return Promise.reject(new Error('the link is closed'));
        }
        this.queuedBytes += data.length;
        const next = this.writeChain.then(async () => {
            if (this.closed)
                throw new Error('the link is closed');
            let fired = false;
            const timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, WRITE_TIMEOUT_MS, () => {
                fired = true;
                this.close(`the device read nothing for ${WRITE_TIMEOUT_MS / 1000} s`);
                return GLib.SOURCE_REMOVE;
            });
            try {
                await writeAll(this.connection.output_stream, data, this.cancellable);
            } finally {
                if (!fired)
                    GLib.source_remove(timer);
            }
        }).finally(() => {
            this.queuedBytes -= data.length;
        });
        this.writeChain = next.catch(e => {
            if (!isCancelled(e))
                this.close(errorMessage(e));
        });
        return next;
    }

    /**
     * Ends a link that another one replaced, `ms` from now, unless the peer closes it first:
     * until then packets still in flight on it are read and delivered. Nothing sends on it any
     * more (the device's link is the new one).
     */
    retire(reason: string, ms: number): void {
        if (this.closed || this.retireTimer)
            return;
        this.retireTimer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            this.retireTimer = 0;
            this.close(reason);
            return GLib.SOURCE_REMOVE;
        });
    }

    /** Takes a retired link back into use (the link that replaced it closed first). */
    reinstate(): void {
        this.stopRetireTimer();
    }

    private stopRetireTimer(): void {
        if (this.retireTimer)
            GLib.source_remove(this.retireTimer);
        this.retireTimer = 0;
    }

    close(reason: string | null = null): void {
        if (this.closed)
            return;
        this.stopRetireTimer();
        this.closedReason = reason;
        this.cancellable.cancel();
        closeStream(this.connection, GLib.PRIORITY_DEFAULT).catch(() => undefined);
        this.emit('closed', reason);
    }
}
