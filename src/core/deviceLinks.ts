// Which of a device's links is its link: a new link replaces the old one, the old one is retired
// for its peer to close, and a dual connect keeps the same link on both ends.
import {Link} from '../net/link.js';
import {PacketError, Packet} from '../protocol/packet.js';
import {keepsOlderLink} from '../protocol/linkChoice.js';
import {Device, packetLimit} from './device.js';

/**
 * How long a replaced link stays open for the peer to close it. kdeconnectd (22.12, 25.04, 26.08)
 * opens a new link for each announcement of ours it hears and closes the old socket itself once
 * the new one is set up (docs/interop.md, quirk 18); until then it may still write to the old one.
 * (Meant to keep kdeconnectd from dying under a transfer as links are replaced too; it does not:
 * it still does, in 2–4 of 12 batches, quirk 18.)
 */
const RETIRED_LINK_MS = 5000;

export interface DeviceLinkHooks {
    ownId(): string;
    /** A packet on any of the device's links, retired ones too. */
    packet(device: Device, link: Link, packet: Packet): void;
    malformed(device: Device, error: PacketError): void;
    /** `link` is the device's link now (`again`: an older one taken back). */
    linked(device: Device, link: Link, again: string | null): void;
    /** The device has no link any more; `link` was the last one. */
    lost(device: Device, link: Link, reason: string | null): void;
}

export class DeviceLinks {
    /**
     * Per device id, the link a newer one replaced, open until its peer closes it or
     * RETIRED_LINK_MS ends: one at most.
     */
    private readonly retired = new Map<string, Link>();

    constructor(private readonly hooks: DeviceLinkHooks) {}

    /** Takes a new link of `device` in; it becomes the device's link unless a dual connect keeps the older. */
    adopt(device: Device, link: Link): void {
        this.watch(device, link);
        const old = device.link;
        if (old && keepsOlderLink(old, link, this.hooks.ownId(), device.id)) {
            // a dual connect: the peer keeps the older link too (both ends decide alike)
            this.retire(device, link, 'the device connected to us at the same time');
            link.start();
            return;
        }
        // the new link first: closing the old one then is no disconnection
        device.link = link;
        if (old)
            this.retire(device, old, 'replaced by a new connection');
        device.update(link.identity, link);
        link.start();
        this.hooks.linked(device, link, null);
    }

    /**
     * The device was paired or unpaired: every link of it takes lines of the new length, and a
     * device no longer paired keeps no retired link (a stranger's lines on one were not limited).
     */
    trustChanged(device: Device): void {
        const retired = this.retired.get(device.id);
        if (retired && device.paired)
            retired.setPacketLimit(packetLimit(device));
        else
            retired?.close('unpaired');
        device.link?.setPacketLimit(packetLimit(device));
    }

    closeAll(reason: string): void {
        for (const link of [...this.retired.values()])
            link.close(reason);
    }

    /**
     * Keeps `link` open for its peer to close (RETIRED_LINK_MS at most), reading what comes. One
     * retired link per device, and none for an unpaired one: a device opening links in a loop
     * must not hold a descriptor for each.
     */
    private retire(device: Device, link: Link, reason: string): void {
        this.retired.get(device.id)?.close(reason);
        if (!device.paired) {
            link.close(reason);
            return;
        }
        this.retired.set(device.id, link);
        link.retire(reason, RETIRED_LINK_MS);
    }

    private watch(device: Device, link: Link): void {
        link.setPacketLimit(packetLimit(device));
        link.on('packet', packet => this.hooks.packet(device, link, packet));
        link.on('malformed', err => this.hooks.malformed(device, err));
        link.on('closed', reason => {
            if (this.retired.get(device.id) === link)
                this.retired.delete(device.id);
            if (device.link !== link)
                return;
            device.link = null;
            // the peer closed the link that replaced another and kept the older one (kdeconnectd
            // keeps the newer one on its side of a dual connect): take that one back
            const older = this.retired.get(device.id);
            if (older) {
                this.retired.delete(device.id);
                older.reinstate();
                device.link = older;
                device.update(older.identity, older);
                this.hooks.linked(device, older, `the newer link closed${reason ? ` (${reason})` : ''}`);
                return;
            }
            this.hooks.lost(device, link, reason);
        });
    }
}
