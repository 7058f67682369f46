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

export type LinkEvents = {
    packet: [Packet];
    /** A line that was not a valid packet; the link stays up. */
    malformed: [PacketError];
    closed: [string | null];
};

export class Link extends Emitter<LinkEvents> {
    private readonly cancellable = new Gio.Cancellable();
    private writeChain: Promise<void> = Promise.resolve();
    private closedReason: string | null | undefined = undefined;

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

    /** Sends a packet; packets are written one after another in the order given. */
    send(packet: Packet): Promise<void> {
        const data = encodePacket(packet);
        const next = this.writeChain.then(async () => {
            if (this.closed)
                throw new Error('the link is closed');
            await writeAll(this.connection.output_stream, data, this.cancellable);
        });
        this.writeChain = next.catch(e => {
            if (!isCancelled(e))
                this.close(errorMessage(e));
        });
        return next;
    }

    close(reason: string | null = null): void {
        if (this.closed)
            return;
        this.closedReason = reason;
        this.cancellable.cancel();
        closeStream(this.connection, GLib.PRIORITY_DEFAULT).catch(() => undefined);
        this.emit('closed', reason);
    }
}
