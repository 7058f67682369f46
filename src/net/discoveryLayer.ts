// One discovery layer over its sources: UDP identities on 1716 (broadcast, and unicast to the
// hosts the user named) and multicast DNS. To the engine it yields "this identity was seen at
// this address"; a device that multicast DNS finds is sent our identity by unicast, and then
// connects to us like any device that heard a broadcast. Which source found a device is kept
// only as a detail for the device list.
import Gio from 'gi://Gio';
import {Emitter} from '../lib/emitter.js';
import {Identity} from '../protocol/identity.js';
import {ServiceAnnouncement} from '../protocol/mdns.js';
import {Packet} from '../protocol/packet.js';
import {IntervalLimiter} from '../protocol/rateLimit.js';
import {Discovery} from './discovery.js';
import {errorMessage} from './gio.js';
import {MdnsDiscovery} from './mdns.js';

/** How a device was found: its identity datagram reached us, multicast DNS named it, or it is at an address the user gave. */
export type DiscoverySource = 'broadcast' | 'mdns' | 'address';

export type DiscoveryLayerEvents = {
    identity: [Identity, Gio.InetAddress];
    dropped: [string];
    log: [string];
};

export interface DiscoveryLayerOptions {
    ownId: () => string;
    /** Our UDP identity packet, null while there is none. */
    identityPacket: () => Packet | null;
    /** What multicast DNS announces of us; null: nothing yet. */
    mdnsSelf: () => Omit<ServiceAnnouncement, 'addresses' | 'ttl' | 'host'> | null;
    /** false: broadcasts only. */
    mdns: boolean;
    udpPort?: number;
    mdnsPort?: number;
}

export class DiscoveryLayer extends Emitter<DiscoveryLayerEvents> {
    private readonly udp: Discovery;
    private mdns: MdnsDiscovery | null = null;
    /** Devices we sent our identity to because a source other than their datagram named them. */
    private readonly told = new Map<string, DiscoverySource>();
    private readonly toldAddresses = new Map<string, DiscoverySource>();
    /**
     * One identity per device a second at most. Short on purpose: after kdeconnectd's links flap
     * (quirk 18 of docs/interop.md) the engine's next announcement asks again, and the answer must
     * not be swallowed, for kdeconnectd asks nothing more until it restarts. A flood of fake
     * devices is bounded in MdnsDiscovery (foundBudget).
     */
    private readonly perDevice = new IntervalLimiter(1000);

    constructor(private readonly options: DiscoveryLayerOptions) {
        super();
        this.udp = new Discovery(options.ownId, options.udpPort);
        this.udp.on('identity', (identity, address) => this.emit('identity', identity, address));
        this.udp.on('dropped', reason => this.emit('dropped', reason));
    }

    /** Opens the sources; multicast DNS that cannot open leaves broadcasts working, with one log line. */
    start(): void {
        this.udp.start();
        if (!this.options.mdns)
            return;
        const mdns = new MdnsDiscovery(this.options.mdnsSelf, this.options.mdnsPort);
        try {
            mdns.start();
        } catch (e) {
            this.emit('log', `multicast DNS is not available here (${errorMessage(e)}): discovery by broadcast only`);
            return;
        }
        mdns.on('found', (found, address) => this.onMdnsFound(found.deviceId, address));
        mdns.on('dropped', reason => this.emit('dropped', reason));
        this.mdns = mdns;
    }

    stop(): void {
        this.mdns?.stop();
        this.mdns?.disconnectAll();
        this.mdns = null;
        this.udp.stop();
        this.udp.disconnectAll();
    }

    /** Announces us on every source: broadcasts, unicast to `hosts`, multicast DNS. */
    async announce(packet: Packet, hosts: Gio.InetAddress[]): Promise<void> {
        for (const h of hosts)
            this.toldAddresses.set(h.to_string() ?? '', 'address');
        this.mdns?.refresh();
        await this.udp.announce(packet, hosts);
    }

    /** Sends our identity to one host (to answer a peer we could not connect to). */
    unicast(packet: Packet, address: Gio.InetAddress): void {
        this.udp.unicast(packet, address);
    }

    /** Which source led to `deviceId` (met at `address`): multicast DNS or the address list, else its own datagram. */
    sourceOf(deviceId: string, address: Gio.InetAddress | null): DiscoverySource {
        return this.told.get(deviceId) ?? (address ? this.toldAddresses.get(address.to_string() ?? '') : undefined) ?? 'broadcast';
    }

    private onMdnsFound(deviceId: string, address: Gio.InetAddress): void {
        if (!this.perDevice.allow(deviceId, Date.now()) || !this.wanted(deviceId))
            return;
        const packet = this.options.identityPacket();
        if (!packet)
            return;
        this.told.set(deviceId, 'mdns');
        if (this.told.size > 256)
            this.told.delete(this.told.keys().next().value ?? '');
        this.emit('log', `multicast DNS found ${deviceId} at ${address.to_string()}: sending our identity there`);
        this.udp.unicast(packet, address);
    }

    /** Set by the engine: false for a device already linked (nothing to tell it). */
    wanted: (deviceId: string) => boolean = () => true;
}
