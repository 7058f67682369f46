// UDP discovery on port 1716: announce our identity (limited broadcast, each interface's
// broadcast address, and unicast to hosts the user named), and report identities we receive.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Emitter} from '../lib/emitter.js';
import {Identity, parseIdentity} from '../protocol/identity.js';
import {MAX_DATAGRAM_BYTES, MAX_IDENTITY_BYTES, UDP_PORT} from '../protocol/limits.js';
import {Packet, decodePacket, encodePacket} from '../protocol/packet.js';
import {BucketLimiter, IntervalLimiter} from '../protocol/rateLimit.js';
import {BudgetedReceiver, DatagramReader, isWouldBlock} from './datagram.js';
import {errorMessage} from './gio.js';
import {interfaceBroadcasts} from './interfaces.js';

export type DiscoveryEvents = {
    identity: [Identity, Gio.InetAddress];
    /** A datagram that was dropped, with the reason (for logs). */
    dropped: [string];
};

export class Discovery extends Emitter<DiscoveryEvents> {
    private socket: Gio.Socket | null = null;
    private receiver: BudgetedReceiver | null = null;
    private reader: DatagramReader | null = null;
    private readonly perDevice = new IntervalLimiter(500);
    private readonly perAddress = new BucketLimiter(10, 5);
    /** All datagrams together: discovery needs a few a second; a flood must not own the main loop. */
    private readonly overall = new BucketLimiter(100, 200);

    constructor(private readonly ownId: () => string, private readonly port = UDP_PORT) {
        super();
    }

    start(): void {
        const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        socket.set_broadcast(true);
        socket.set_blocking(false);
        socket.bind(new Gio.InetSocketAddress({address: Gio.InetAddress.new_any(Gio.SocketFamily.IPV4), port: this.port}), true);
        this.socket = socket;
        this.reader = new DatagramReader(socket);
        this.receiver = new BudgetedReceiver(socket, this.overall, GLib.PRIORITY_DEFAULT, () => this.receiveOne());
        this.receiver.start();
    }

    stop(): void {
        this.receiver?.stop();
        this.receiver = null;
        this.reader = null;
        this.socket?.close();
        this.socket = null;
    }

    private receiveOne(): void {
        if (!this.reader)
            return;
        let datagram;
        try {
            datagram = this.reader.read(MAX_IDENTITY_BYTES + 1,
                address => this.perAddress.allow(address.to_string() ?? '', GLib.get_monotonic_time() / 1000));
        } catch (e) {
            if (!isWouldBlock(e))
                this.emit('dropped', `UDP receive failed: ${errorMessage(e)}`);
            return;
        }
        if (!datagram)
            return;
        const [data, address] = datagram;
        const now = GLib.get_monotonic_time() / 1000;
        const from = address.to_string() ?? '';
        let identity: Identity;
        try {
            const line = data[data.length - 1] === 10 ? data.subarray(0, data.length - 1) : data;
            identity = parseIdentity(decodePacket(line, MAX_DATAGRAM_BYTES));
        } catch (e) {
            this.emit('dropped', `identity from ${from}: ${errorMessage(e)}`);
            return;
        }
        if (identity.deviceId === this.ownId() || !this.perDevice.allow(identity.deviceId, now))
            return;
        this.emit('identity', identity, address);
    }

    /** Sends `packet` to each interface's broadcast address (else the limited broadcast), and `hosts`. */
    async announce(packet: Packet, hosts: Gio.InetAddress[] = []): Promise<void> {
        const socket = this.socket;
        if (!socket)
            return;
        const data = encodePacket(packet);
        // One datagram per network: kdeconnectd 22.12 opens a connection for every copy it gets,
        // and the limited broadcast would reach the default route's subnet a second time. The
        // limited broadcast is the fallback where no interface has a broadcast address.
        const subnets = await interfaceBroadcasts();
        const targets = (subnets.length ? subnets : ['255.255.255.255'])
            .map(a => Gio.InetAddress.new_from_string(a))
            .filter((a): a is Gio.InetAddress => a !== null)
            .concat(hosts);
        for (const address of targets)
            this.sendTo(address, data);
    }

    /** Sends `packet` to one host (to answer a peer we could not connect to). */
    unicast(packet: Packet, address: Gio.InetAddress): void {
        this.sendTo(address, encodePacket(packet));
    }

    private sendTo(address: Gio.InetAddress, data: Uint8Array): void {
        try {
            this.socket?.send_to(new Gio.InetSocketAddress({address, port: this.port}), data, null);
        } catch (e) {
            this.emit('dropped', `UDP send to ${address.to_string()} failed: ${errorMessage(e)}`);
        }
    }
}
