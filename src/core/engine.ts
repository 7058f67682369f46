// The Ferry engine: identity, discovery, links, devices and pairing. It runs the same in plain
// gjs (the `ferry` command, the tests) and inside GNOME Shell.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Emitter} from '../lib/emitter.js';
import {DiscoveryLayer} from '../net/discoveryLayer.js';
import {errorMessage, promisifyGio} from '../net/gio.js';
import {Link} from '../net/link.js';
import {LinkContext, LinkError, acceptIncomingLink, openOutgoingLink} from '../net/linkSetup.js';
import {LinkListener} from '../net/listener.js';
import {interfaceBroadcasts} from '../net/interfaces.js';
import {Identity, OwnIdentity, makeIdentityPacket} from '../protocol/identity.js';
import {
    DeviceType, MAX_PENDING_LINKS, MAX_UNPAIRED_LINKS, PACKET_IDENTITY, PACKET_PAIR, PACKET_SHARE_REQUEST, PACKET_SHARE_UPDATE, PROTOCOL_VERSION, UDP_PORT,
} from '../protocol/limits.js';
import {sanitizeDeviceName} from '../protocol/names.js';
import {Packet, makePacket} from '../protocol/packet.js';
import {IntervalLimiter, LogThrottle} from '../protocol/rateLimit.js';
import {Device, DeviceInfo} from './device.js';
import {AddressBook, lookUp} from './addressBook.js';
import {matchDevice} from './match.js';
import {Pairing} from './pairing.js';
import {DeviceLinkHooks, DeviceLinks} from './deviceLinks.js';
import {peerCertificateFromPem} from './identity/certificate.js';
import {FerrySettings, FerryStore, TrustStore} from './identity/ferryStore.js';
import {GSCONNECT_BUS_NAME, GSConnectStore} from './identity/gsconnectStore.js';
import {IdentityChoice, LocalIdentity, TrustedDevice} from './identity/types.js';

/** The set of networks we announce on, as one comparable string. */
async function networkSignature(): Promise<string> {
    return (await interfaceBroadcasts()).sort().join(' ');
}

export interface EngineOptions {
    /** Ferry's config folder (identity, pairings, settings). */
    configDir: string;
    identity: IdentityChoice;
    /** Hosts to send our identity to by unicast (networks where broadcast does not pass). */
    hosts: string[];
    /** 8, or 7 to behave like an older peer. */
    protocolVersion?: number;
    deviceName?: string;
    /** The type we announce (default desktop). */
    deviceType?: DeviceType;
    /** GSConnect's config folder (default ~/.config/gsconnect). */
    gsconnectDir?: string;
    /** Watch the session bus for a running GSConnect (default true). */
    watchGSConnect?: boolean;
    /** Announce and browse by multicast DNS besides broadcasts (default true; config.json "mdns": false turns it off). */
    mdns?: boolean;
}

export type EngineState = 'stopped' | 'starting' | 'running' | 'deferred' | 'failed';

export type EngineEvents = {
    state: [EngineState, string];
    /** One human-readable line per event, for `ferry serve` and logs. */
    log: [string];
    deviceChanged: [DeviceInfo];
    deviceRemoved: [string];
    pairingRequested: [DeviceInfo, string];
    pairingFinished: [string, string, string];
    /** A packet from a paired device that the pairing layer does not handle (for the share service). */
    packet: [Device, Packet];
    /** A device has a new link (the first, or one replacing another). */
    linked: [Device];
    certificateMismatch: [string, string];
};

export class EngineError extends Error {
    override name = 'EngineError';
}

const INCOMING_CAPABILITIES = [PACKET_SHARE_REQUEST, PACKET_SHARE_UPDATE];
const OUTGOING_CAPABILITIES = [PACKET_SHARE_REQUEST];

export class Engine extends Emitter<EngineEvents> {
    state: EngineState = 'stopped';
    stateMessage = '';
    identity: LocalIdentity | null = null;
    deviceName = '';
    /** Ferry's own settings file (config.json), read at start. */
    settings: FerrySettings = {};
    /** Where GSConnect's pairings were read from (for `ferry id`). */
    gsconnectDevicesFrom: string | null = null;
    readonly devices = new Map<string, Device>();
    private discovery: DiscoveryLayer | null = null;
    private listener: LinkListener | null = null;
    trustStore: TrustStore | null = null;
    /** GSConnect pairings undone here: GSConnect's own settings still list them (its certificate, by device id). */
    revoked = new Map<string, string>();
    private readonly pairing = new Pairing(this);
    private readonly cancellable = new Gio.Cancellable();
    private pendingLinks = new Set<Gio.Cancellable>();
    private busWatch = 0;
    private networkChangedId = 0;
    private readonly protocolVersion: number;
    private readonly addressBook = new AddressBook(line => this.emit('log', line), this.cancellable);
    private readonly links = new DeviceLinks(this.linkHooks());

    constructor(readonly options: EngineOptions) {
        super();
        this.protocolVersion = options.protocolVersion ?? PROTOCOL_VERSION;
    }

    private setState(state: EngineState, message: string): void {
        this.state = state;
        this.stateMessage = message;
        this.emit('state', state, message);
        this.emit('log', `state ${state}${message ? `: ${message}` : ''}`);
    }

    get tcpPort(): number {
        return this.listener?.port ?? 0;
    }

    ownIdentity(): OwnIdentity {
        if (!this.identity)
            throw new EngineError('the engine has no identity yet');
        return {
            deviceId: this.identity.deviceId,
            deviceName: this.deviceName,
            deviceType: this.options.deviceType ?? 'desktop',
            protocolVersion: this.protocolVersion,
            incomingCapabilities: INCOMING_CAPABILITIES,
            outgoingCapabilities: OUTGOING_CAPABILITIES,
        };
    }

    /** What we announce: our identity and the port we accept links on. */
    private ownIdentityPacket(): Packet {
        return makeIdentityPacket(this.ownIdentity(), {tcpPort: this.tcpPort});
    }

    private preparing: Promise<void> | null = null;

    /** Loads the identity and the trusted devices, without touching the network; once, however often asked. */
    prepare(): Promise<void> {
        promisifyGio();
        this.preparing ??= this.loadIdentityAndTrust();
        return this.preparing;
    }

    /** Prepares, then opens the network (unless GSConnect runs with the same identity). */
    async start(): Promise<void> {
        this.setState('starting', '');
        try {
            await this.prepare();
            // a host given on the command line that does not resolve is the user's mistake: say so now
            for (const host of this.options.hosts)
                this.addressBook.addresses.push(...await lookUp(host, this.cancellable).catch((e: unknown) => {
                    throw new EngineError(errorMessage(e));
                }));
        } catch (e) {
            if (this.cancellable.is_cancelled())
                return;
            this.setState('failed', errorMessage(e));
            throw e;
        }
        // stopped while loading (the shell may disable us at any moment): open nothing
        if (this.cancellable.is_cancelled())
            return;
        const connection = this.options.watchGSConnect === false ? null : this.sessionBus();
        if (this.identity?.source === 'gsconnect' && connection) {
            this.busWatch = Gio.bus_watch_name_on_connection(connection, GSCONNECT_BUS_NAME,
                Gio.BusNameWatcherFlags.NONE,
                () => this.stepAside(),
                () => this.openNetwork());
        } else {
            this.openNetwork();
        }
    }

    private sessionBus(): Gio.DBusConnection | null {
        try {
            return Gio.bus_get_sync(Gio.BusType.SESSION, null);
        } catch {
            return null;
        }
    }

    /**
     * The devices by address the shell's preferences hold (GSettings device-addresses): used from
     * now on, resolved without blocking, and announced to at once.
     */
    setAddressList(names: string[]): void {
        this.addressBook.listed = names;
        if (this.state === 'running')
            this.resolveAddresses();
    }

    /** Resolves every address of the book again, then announces us to them. */
    private resolveAddresses(): void {
        this.addressBook.resolveAll([...this.options.hosts, ...this.settings.hosts ?? []])
            .then(() => this.refresh()).catch(() => undefined);
    }

    private async loadIdentityAndTrust(): Promise<void> {
        const ferry = new FerryStore(this.options.configDir);
        const gsconnect = new GSConnectStore(this.options.gsconnectDir);
        const choice = this.options.identity;
        let identity: LocalIdentity | null = null;
        if (choice !== 'ferry')
            identity = await gsconnect.identity();
        if (!identity && choice === 'gsconnect')
            throw new EngineError(`no GSConnect identity in ${gsconnect.dir} (certificate.pem and private.pem)`);
        identity ??= await ferry.identity();
        this.identity = identity;
        this.settings = await ferry.settings();
        this.deviceName = sanitizeDeviceName(this.options.deviceName ?? this.settings.name ?? GLib.get_host_name()) || 'Ferry';

        const trusted: TrustedDevice[] = [];
        // GSConnect's pairings bind peers to GSConnect's certificate: they hold only with its identity.
        if (identity.source === 'gsconnect') {
            const {devices, from} = await gsconnect.pairedDevices();
            this.gsconnectDevicesFrom = from;
            trusted.push(...devices);
        }
        this.trustStore = new TrustStore(GLib.build_filenamev([this.options.configDir,
            identity.source === 'gsconnect' ? 'devices-gsconnect-identity.json' : 'devices.json']));
        const own = await this.trustStore.trustedDevices();
        this.revoked = own.revoked;
        for (const d of own.devices) {
            const i = trusted.findIndex(t => t.id === d.id);
            if (i >= 0)
                trusted.splice(i, 1);
            trusted.push(d);
        }
        for (const t of trusted) {
            if (t.source === 'gsconnect' && this.revoked.get(t.id) === t.certificatePem)
                continue;
            this.devices.set(t.id, new Device(t.id, t));
        }
        this.emit('log', `identity ${identity.deviceId} (${identity.source}), name "${this.deviceName}", ` +
            `${this.devices.size} paired device(s)`);
    }

    private stepAside(): void {
        this.closeNetwork();
        this.setState('deferred', 'GSConnect is running and uses this identity; Ferry steps aside until it stops');
    }

    private openNetwork(): void {
        if (this.state === 'running' || this.cancellable.is_cancelled())
            return;
        const ctx = this.linkContext();
        try {
            this.listener = new LinkListener();
            this.listener.start(conn => this.onIncoming(ctx, conn));
            this.discovery = new DiscoveryLayer({
                ownId: () => this.identity?.deviceId ?? '',
                identityPacket: () => this.identity ? this.ownIdentityPacket() : null,
                mdnsSelf: () => this.identity ? {...this.ownIdentity(), port: UDP_PORT} : null,
                mdns: (this.options.mdns ?? true) && this.settings.mdns !== false,
            });
            this.discovery.wanted = id => !this.devices.get(id)?.reachable;
            this.discovery.on('identity', (identity, address) => this.onDiscovered(ctx, identity, address));
            this.discovery.on('dropped', reason => this.emit('log', `discovery: ${reason}`));
            this.discovery.on('log', line => this.emit('log', line));
            this.discovery.start();
        } catch (e) {
            this.closeNetwork();
            this.setState('failed', `cannot open the network: ${errorMessage(e)}`);
            return;
        }
        const monitor = Gio.NetworkMonitor.get_default();
        this.networkChangedId = monitor.connect('network-changed', () => this.scheduleNetworkCheck());
        networkSignature().then(signature => {
            this.networkSignature = signature;
        }).catch(() => undefined);
        this.setState('running', `listening on TCP ${this.tcpPort}`);
        this.refresh();
        // the address list may name hosts a slow resolver takes its time over: they join when resolved
        if (this.settings.hosts?.length || this.addressBook.listed.length)
            this.resolveAddresses();
        // the first broadcast is easily lost while a fresh network comes up: say it once more
        this.scheduleRefresh(3000);
    }

    private closeNetwork(): void {
        if (this.refreshTimer)
            GLib.source_remove(this.refreshTimer);
        this.refreshTimer = 0;
        for (const id of this.reminders.values())
            GLib.source_remove(id);
        this.reminders.clear();
        if (this.networkCheckTimer)
            GLib.source_remove(this.networkCheckTimer);
        this.networkCheckTimer = 0;
        if (this.networkChangedId)
            Gio.NetworkMonitor.get_default().disconnect(this.networkChangedId);
        this.networkChangedId = 0;
        for (const c of this.pendingLinks)
            c.cancel();
        this.pendingLinks.clear();
        this.discovery?.stop();
        this.discovery = null;
        this.listener?.stop();
        this.listener = null;
        for (const device of this.devices.values())
            device.link?.close('the engine stopped');
        this.links.closeAll('the engine stopped');
    }

    stop(): void {
        if (this.busWatch)
            Gio.bus_unwatch_name(this.busWatch);
        this.busWatch = 0;
        this.cancellable.cancel();
        this.closeNetwork();
        for (const device of this.devices.values())
            device.clearPairTimer();
        this.setState('stopped', '');
        this.disconnectAll();
    }

    private refreshTimer = 0;
    private networkCheckTimer = 0;
    private networkSignature = '';

    /**
     * GNetworkMonitor reports "changed" for route and neighbour churn too, and kdeconnectd 22.12
     * answers every announcement with a new connection that replaces the link under a running
     * batch: announce again only when the set of networks really changed.
     */
    private scheduleNetworkCheck(): void {
        if (this.networkCheckTimer || this.state !== 'running')
            return;
        this.networkCheckTimer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1000, () => {
            this.networkCheckTimer = 0;
            networkSignature().then(signature => {
                if (signature === this.networkSignature || this.state !== 'running')
                    return;
                this.networkSignature = signature;
                this.emit('log', `networks changed: ${signature || 'none'}`);
                this.resolveAddresses();
            }).catch(() => undefined);
            return GLib.SOURCE_REMOVE;
        });
    }

    /** Devices whose link dropped, to be told our identity again (device id → timer). */
    private readonly reminders = new Map<string, number>();

    /** Our identity to `address` in 1.5 s, if the device has not linked again by then. */
    private remindSoon(device: Device, address: Gio.InetAddress): void {
        if (this.reminders.has(device.id) || this.state !== 'running')
            return;
        this.reminders.set(device.id, GLib.timeout_add(GLib.PRIORITY_DEFAULT, 1500, () => {
            this.reminders.delete(device.id);
            if (!device.link && this.discovery && this.identity)
                this.discovery.unicast(this.ownIdentityPacket(), address);
            return GLib.SOURCE_REMOVE;
        }));
    }

    /** A refresh soon, once for any number of calls. */
    private scheduleRefresh(ms: number): void {
        if (this.refreshTimer || this.state !== 'running')
            return;
        this.refreshTimer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            this.refreshTimer = 0;
            this.refresh();
            return GLib.SOURCE_REMOVE;
        });
    }

    /** Announces us again on every network (and to the hosts given). */
    refresh(): void {
        if (!this.discovery || !this.identity)
            return;
        const packet = this.ownIdentityPacket();
        this.discovery.announce(packet, this.addressBook.addresses).catch(e => this.emit('log', `announce failed: ${errorMessage(e)}`));
    }

    private linkContext(): LinkContext {
        const identity = this.identity;
        if (!identity)
            throw new EngineError('no identity');
        return {
            own: () => this.ownIdentity(),
            certificate: identity.certificate,
            pinnedCertificate: id => {
                const pem = this.devices.get(id)?.trusted?.certificatePem;
                return pem ? peerCertificateFromPem(pem) : null;
            },
        };
    }

    private unpairedLinks(): number {
        let n = 0;
        for (const d of this.devices.values()) {
            if (d.link && !d.paired)
                n++;
        }
        return n;
    }

    private readonly limitLogs = new IntervalLimiter(1000);
    /** `{"pair":false}` to an unpaired sender at most every 5 s, not once per packet. */
    private readonly unpairedNotices = new IntervalLimiter(5000);
    private readonly peerLogs = new LogThrottle();

    /** A log line about a limit at most once a second: a flood must not flood the log. */
    private logLimited(line: string): void {
        if (this.limitLogs.allow('limit', GLib.get_monotonic_time() / 1000))
            this.emit('log', line);
    }

    /** The device was paired or unpaired (its links' line limit follows). */
    trustChanged(device: Device): void {
        this.links.trustChanged(device);
    }

    /** A line a peer can cause once per packet (here or in the share service): throttled per device and kind. */
    peerLog(device: Device, kind: string, line: string): void {
        const passed = this.peerLogs.pass(`${device.id}:${kind}`, line, GLib.get_monotonic_time() / 1000);
        if (passed !== null)
            this.emit('log', passed);
    }

    private track<T>(run: (c: Gio.Cancellable) => Promise<T>): Promise<T> {
        const c = new Gio.Cancellable();
        this.pendingLinks.add(c);
        return run(c).finally(() => this.pendingLinks.delete(c));
    }

    private onDiscovered(ctx: LinkContext, identity: Identity, address: Gio.InetAddress): void {
        const known = this.devices.get(identity.deviceId);
        if (known?.reachable)
            return;
        if (this.pendingLinks.size >= MAX_PENDING_LINKS) {
            this.logLimited('ignoring announcements: too many links are being set up');
            return;
        }
        this.emit('log', `discovered ${identity.deviceName} (${identity.deviceId}) at ${address.to_string()}`);
        this.track(c => openOutgoingLink(ctx, address, identity, c))
            .then(link => this.adoptLink(link))
            .catch(e => {
                this.linkFailed(e);
                // let the peer connect to us instead (it may not reach our port, but we reach its UDP)
                if (!(e instanceof LinkError && e.kind === 'certificate') && this.discovery && this.identity)
                    this.discovery.unicast(this.ownIdentityPacket(), address);
            });
    }

    private onIncoming(ctx: LinkContext, conn: Gio.SocketConnection): void {
        if (this.pendingLinks.size >= MAX_PENDING_LINKS) {
            this.logLimited('refusing connections: too many links are being set up');
            conn.close_async(GLib.PRIORITY_LOW, null, null);
            return;
        }
        this.track(c => acceptIncomingLink(ctx, conn, c))
            .then(link => this.adoptLink(link))
            .catch(e => this.linkFailed(e));
    }

    private linkFailed(e: unknown): void {
        if (e instanceof LinkError && e.kind === 'self')
            return;
        if (e instanceof LinkError && e.kind === 'certificate' && e.deviceId) {
            this.emit('log', `REFUSED ${e.deviceId}: ${e.message}`);
            this.emit('certificateMismatch', e.deviceId, e.message);
            return;
        }
        this.emit('log', `link failed: ${errorMessage(e)}`);
    }

    private adoptLink(link: Link): void {
        if (this.state !== 'running') {
            link.close('the engine is not running');
            return;
        }
        const id = link.deviceId;
        let device = this.devices.get(id);
        if (!device?.paired && !device?.link && this.unpairedLinks() >= MAX_UNPAIRED_LINKS) {
            this.logLimited(`refusing ${link.identity.deviceName}: ${MAX_UNPAIRED_LINKS} unpaired devices are connected`);
            link.close('too many unpaired devices');
            return;
        }
        if (!device) {
            device = new Device(id, null, link.identity);
            this.devices.set(id, device);
        }
        this.links.adopt(device, link);
    }

    private linkHooks(): DeviceLinkHooks {
        return {
            ownId: () => this.identity?.deviceId ?? '',
            packet: (dev, link, packet) => this.onPacket(dev, link, packet),
            malformed: (dev, err) => this.peerLog(dev, 'malformed', `${dev.name}: ignored a malformed packet: ${err.message}`),
            linked: (dev, link, again) => {
                if (again) {
                    this.emit('log', `${dev.name}: ${again}; the older one is used again`);
                } else {
                    dev.discoveredBy = this.discovery?.sourceOf(dev.id, link.remoteAddress) ?? '';
                    this.emit('log', `connected ${dev.name} (${dev.id}) protocol ${link.protocolVersion} ` +
                        `${link.outgoing ? 'outgoing' : 'incoming'} ${dev.paired ? 'paired' : 'unpaired'} (found by ${dev.discoveredBy})`);
                    this.emit('deviceChanged', dev.info());
                }
                this.emit('linked', dev);
            },
            lost: (dev, link, reason) => this.deviceLost(dev, link, reason),
        };
    }

    private deviceLost(dev: Device, link: Link, reason: string | null): void {
        if (dev.pairing.state === 'requested' || dev.pairing.state === 'requestedByPeer') {
            dev.clearPairTimer();
            dev.pairing.timeout();
            this.emit('pairingFinished', dev.id, 'cancelled', 'the device disconnected');
        }
        this.emit('log', `disconnected ${dev.name} (${dev.id})${reason ? `: ${reason}` : ''}`);
        // peers announce themselves only at start and on network changes: tell the device
        // that dropped the link (kdeconnectd does on unpair) where we are, so it can come
        // back; only it: a broadcast would have every other linked kdeconnectd replace its
        // link (quirk 18), under whatever it is sending or receiving
        this.remindSoon(dev, link.remoteAddress);
        if (!dev.paired) {
            this.devices.delete(dev.id);
            this.emit('deviceRemoved', dev.id);
        } else {
            this.emit('deviceChanged', dev.info());
        }
    }

    private onPacket(device: Device, link: Link, packet: Packet): void {
        if (packet.type === PACKET_PAIR) {
            this.pairing.apply(device, device.pairing.receive(packet.body, Date.now() / 1000));
            return;
        }
        if (packet.type === PACKET_IDENTITY)
            return;
        if (!device.paired) {
            this.peerLog(device, 'unpaired', `${device.name}: refused ${packet.type} from an unpaired device`);
            // tell it once in a while, not once per packet: a peer that floods us and never reads
            // would otherwise have us queue an answer for each
            if (this.unpairedNotices.allow(device.id, GLib.get_monotonic_time() / 1000))
                link.send(makePacket(PACKET_PAIR, {pair: false})).catch(() => undefined);
            return;
        }
        this.emit('packet', device, packet);
    }

    /** Finds a device by id, or by name when the name is unique. */
    findDevice(query: string): Device {
        return matchDevice(this.devices.values(), query);
    }

    /** Requests pairing, or accepts the device's pending request. Returns the state and the verification key. */
    pair(query: string): {state: string; verificationKey: string} {
        const device = this.findDevice(query);
        if (device.paired)
            return {state: 'paired', verificationKey: ''};
        if (!device.reachable)
            throw new EngineError(`${device.name} is not reachable`);
        const accepting = device.pairing.state === 'requestedByPeer';
        const key = accepting ? device.verificationKey : '';
        this.pairing.apply(device, device.pairing.request(Date.now() / 1000));
        return {state: device.paired ? 'paired' : device.pairing.state, verificationKey: key || device.verificationKey};
    }

    rejectPair(query: string): void {
        const device = this.findDevice(query);
        if (device.pairing.state !== 'requestedByPeer')
            throw new EngineError(`${device.name} has no pending pairing request`);
        this.pairing.apply(device, device.pairing.reject());
    }

    unpair(query: string): void {
        const device = this.findDevice(query);
        if (!device.paired && device.pairing.state === 'unpaired')
            throw new EngineError(`${device.name} is not paired`);
        const step = device.pairing.unpair();
        if (device.paired && step.event !== 'unpaired')
            step.event = 'unpaired';
        this.pairing.apply(device, step);
    }

    deviceInfos(): DeviceInfo[] {
        return [...this.devices.values()].map(d => d.info()).sort((a, b) => a.name.localeCompare(b.name));
    }
}
