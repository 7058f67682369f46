// One KDE Connect device as the engine knows it: what it said about itself, whether we trust
// it, its current link and its pairing state.
import GLib from 'gi://GLib';
import {Link} from '../net/link.js';
import {Identity} from '../protocol/identity.js';
import {DeviceType, MAX_PACKET_BYTES, MAX_UNPAIRED_PACKET_BYTES} from '../protocol/limits.js';
import {PairState, PairingState} from '../protocol/pairing.js';
import {TrustedDevice} from './identity/types.js';

export interface DeviceInfo {
    id: string;
    name: string;
    type: DeviceType;
    paired: boolean;
    reachable: boolean;
    protocolVersion: number;
    pairState: PairState;
    /** Where the pairing is stored: 'gsconnect', 'ferry', or '' when unpaired. */
    trustedBy: string;
    address: string;
    /** The verification key of a pending pairing, else ''. */
    verificationKey: string;
    incomingCapabilities: string[];
    /** How the current or last link's device was found: 'broadcast', 'mdns' or 'address' ('' before any link). */
    discoveredBy: string;
}

export class Device {
    name: string;
    type: DeviceType;
    protocolVersion: number;
    incomingCapabilities: string[] = [];
    outgoingCapabilities: string[] = [];
    /**
     * Files the device fetches at once, as it said on its current link (PACKET_FERRY_FETCHES: a
     * Ferry says it); 1 for every other device, and until it says so.
     */
    fetchesAtOnce = 1;
    link: Link | null = null;
    discoveredBy = '';
    pairing: PairingState;
    pairTimer: number | null = null;
    verificationKey = '';

    constructor(readonly id: string, public trusted: TrustedDevice | null, identity?: Identity) {
        this.name = identity?.deviceName ?? trusted?.name ?? id;
        this.type = identity?.deviceType ?? trusted?.type ?? 'desktop';
        this.protocolVersion = identity?.protocolVersion ?? trusted?.protocolVersion ?? 0;
        this.pairing = new PairingState(trusted !== null, this.protocolVersion || 8);
    }

    get paired(): boolean {
        return this.trusted !== null;
    }

    get reachable(): boolean {
        return this.link !== null && !this.link.closed;
    }

    /** Takes what the device said about itself over an encrypted link. */
    update(identity: Identity, link: Link): void {
        this.name = identity.deviceName;
        this.type = identity.deviceType;
        this.protocolVersion = identity.protocolVersion;
        this.incomingCapabilities = identity.incomingCapabilities;
        this.outgoingCapabilities = identity.outgoingCapabilities;
        this.fetchesAtOnce = 1;
        // a fresh state machine for the version spoken on this link, keeping trust
        if (this.pairing.state !== 'requested' && this.pairing.state !== 'requestedByPeer')
            this.pairing = new PairingState(this.paired, link.protocolVersion);
    }

    clearPairTimer(): void {
        if (this.pairTimer !== null)
            GLib.source_remove(this.pairTimer);
        this.pairTimer = null;
    }

    info(): DeviceInfo {
        return {
            id: this.id,
            name: this.name,
            type: this.type,
            paired: this.paired,
            reachable: this.reachable,
            protocolVersion: this.link?.protocolVersion ?? this.protocolVersion,
            pairState: this.paired ? 'paired' : this.pairing.state,
            trustedBy: this.trusted?.source ?? '',
            address: this.link?.remoteAddress.to_string() ?? '',
            verificationKey: this.pairing.state === 'requested' || this.pairing.state === 'requestedByPeer'
                ? this.verificationKey : '',
            incomingCapabilities: this.incomingCapabilities,
            discoveredBy: this.discoveredBy,
        };
    }
}

/** What a device's link may carry: a stranger's packets are kept small. */
export function packetLimit(device: Device): number {
    return device.paired ? MAX_PACKET_BYTES : MAX_UNPAIRED_PACKET_BYTES;
}
