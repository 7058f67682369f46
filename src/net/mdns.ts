// Multicast DNS discovery of KDE Connect devices: a small responder and browser of Ferry's own
// on a shared 5353 socket (as kdeconnectd has), for networks that drop broadcasts. It announces
// `<device id>._kdeconnect._udp.local`, answers queries for it, asks for others, and reports
// each device it hears of with the address its answer came from. What to do with a device found
// is the engine's business (it sends its UDP identity there, as for a broadcast).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Emitter} from '../lib/emitter.js';
import {FoundService, KDECONNECT_SERVICE, MAX_MESSAGE_BYTES, MDNS_GROUP, MDNS_PORT, MdnsError, ServiceAnnouncement, TYPE_PTR,
    announcementRecords, asksForService, decodeMessage, encodeQuery, encodeResponse, foundServices} from '../protocol/mdns.js';
import {BucketLimiter, IntervalLimiter} from '../protocol/rateLimit.js';
import {BudgetedReceiver, DatagramReader, isWouldBlock} from './datagram.js';
import {errorMessage} from './gio.js';
import {interfaceAddresses} from './interfaces.js';

export type MdnsEvents = {
    /** A device (not us) announced or answered, from `address`. */
    found: [FoundService, Gio.InetAddress];
    dropped: [string];
};

/** Answers go out at most this often each to the group and to one asker (RFC 6762 §6: once a second). */
const ANSWER_INTERVAL_MS = 1000;
const ANNOUNCE_TTL_S = 120;

export class MdnsDiscovery extends Emitter<MdnsEvents> {
    private socket: Gio.Socket | null = null;
    private reader: DatagramReader | null = null;
    private receiver: BudgetedReceiver | null = null;
    /** Every datagram together: a flood of mDNS traffic must not own the main loop (R6). */
    private readonly overall = new BucketLimiter(50, 100);
    private readonly perAddress = new BucketLimiter(10, 20);
    private readonly answers = new IntervalLimiter(ANSWER_INTERVAL_MS);
    /** All answers together: askers on ever new ports must not turn us into a reflector. */
    private readonly answerBudget = new BucketLimiter(20, 5);
    private readonly reported = new IntervalLimiter(1000);
    /** Devices reported: each costs a datagram of ours to its address, so a flood of fake ones is bounded. */
    private readonly foundBudget = new BucketLimiter(10, 2);
    private readonly group = Gio.InetAddress.new_from_string(MDNS_GROUP)!;
    private addresses: string[] = [];

    /** `self` says what to announce; null while there is nothing to announce (no identity). */
    constructor(private readonly self: () => Omit<ServiceAnnouncement, 'addresses' | 'ttl' | 'host'> | null,
        private readonly port = MDNS_PORT) {
        super();
    }

    /**
     * Opens the shared socket and joins the group. Throws when this network stack cannot (no
     * multicast route, say): the caller carries on with broadcasts.
     */
    start(): void {
        const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        try {
            socket.set_blocking(false);
            // allow_reuse: SO_REUSEADDR and SO_REUSEPORT, so that Avahi or kdeconnectd on the same host keep working
            socket.bind(new Gio.InetSocketAddress({address: Gio.InetAddress.new_any(Gio.SocketFamily.IPV4), port: this.port}), true);
            socket.join_multicast_group(this.group, false, null);
            socket.set_multicast_ttl(255);
            socket.set_multicast_loopback(true);
        } catch (e) {
            socket.close();
            throw e;
        }
        this.socket = socket;
        this.reader = new DatagramReader(socket);
        this.receiver = new BudgetedReceiver(socket, this.overall, GLib.PRIORITY_LOW, () => this.receiveOne());
        this.receiver.start();
    }

    /** Withdraws our announcement (records with TTL 0, sent before the socket closes) and closes the socket. */
    stop(): void {
        this.announceNow(0, null, this.port);
        this.receiver?.stop();
        this.receiver = null;
        this.reader = null;
        this.socket?.close();
        this.socket = null;
    }

    /** Asks who offers the service and announces us (on start and whenever the engine announces itself). */
    refresh(): void {
        this.send(encodeQuery([{name: KDECONNECT_SERVICE, type: TYPE_PTR, unicast: false}]), null, this.port);
        interfaceAddresses().then(addresses => {
            this.addresses = addresses;
            this.announceNow(ANNOUNCE_TTL_S, null, this.port);
        }).catch(e => this.emit('dropped', `mDNS announcement failed: ${errorMessage(e)}`));
    }

    private receiveOne(): void {
        if (!this.reader)
            return;
        let datagram;
        try {
            datagram = this.reader.read(MAX_MESSAGE_BYTES + 1,
                address => this.perAddress.allow(address.to_string() ?? '', GLib.get_monotonic_time() / 1000));
        } catch (e) {
            if (!isWouldBlock(e))
                this.emit('dropped', `mDNS receive failed: ${errorMessage(e)}`);
            return;
        }
        if (!datagram)
            return;
        const [data, address, sourcePort] = datagram;
        let message;
        try {
            message = decodeMessage(data);
        } catch (e) {
            // anyone may send anything to 5353: only what concerns us is worth a log line
            if (!(e instanceof MdnsError))
                this.emit('dropped', `mDNS message from ${address.to_string()}: ${errorMessage(e)}`);
            return;
        }
        const self = this.self();
        if (!self)
            return;
        const now = GLib.get_monotonic_time() / 1000;
        const question = asksForService(message, self.deviceId);
        if (question) {
            // a QU question is answered to the asker's socket, anything else to the group. kdeconnectd
            // 26.08 asks twice within milliseconds from new sockets: each socket gets its answer.
            const to = question.unicast ? address : null;
            if (this.answers.allow(to ? `${to.to_string()}:${sourcePort}` : 'group', now) && this.answerBudget.allow('all', now))
                this.announceNow(ANNOUNCE_TTL_S, to, to ? sourcePort : this.port);
        }
        for (const found of foundServices(message)) {
            if (found.deviceId === self.deviceId || found.ttl === 0 || !this.reported.allow(found.deviceId, now) ||
                !this.foundBudget.allow('all', now))
                continue;
            this.emit('found', found, address);
        }
    }

    /** Our records, with the addresses the last refresh found (a fresh network is refreshed by the engine). */
    private announceNow(ttl: number, to: Gio.InetAddress | null, port: number): void {
        const self = this.self();
        if (!self || !this.socket)
            return;
        this.send(encodeResponse(announcementRecords({...self, host: `${self.deviceId}.local`, addresses: this.addresses, ttl})), to, port);
    }

    private send(data: Uint8Array, to: Gio.InetAddress | null, port: number): void {
        try {
            this.socket?.send_to(new Gio.InetSocketAddress({address: to ?? this.group, port}), data, null);
        } catch (e) {
            this.emit('dropped', `mDNS send failed: ${errorMessage(e)}`);
        }
    }
}
