// Which of two links to one device to keep, decided the same way on both ends.

/**
 * Two links set up within this of each other, one opened by each side, are one dual connect:
 * both devices heard the other's announcement and connected at once.
 */
export const DUAL_CONNECT_MS = 1000;

export interface LinkFacts {
    /** True when we opened the TCP connection. */
    readonly outgoing: boolean;
    /** When the link was set up (monotonic, ms). */
    readonly sinceMs: number;
}

/**
 * True when `older` should stay the device's link and `newer` be retired. Normally the newer
 * link wins, as kdeconnectd decides (it replaces its link with each new connection). In a dual
 * connect "newer" differs between the two ends, and each closing the link the other kept left
 * neither with one: both keep the link that the device with the greater id opened.
 */
export function keepsOlderLink(older: LinkFacts, newer: LinkFacts, ownId: string, peerId: string): boolean {
    if (older.outgoing === newer.outgoing || newer.sinceMs - older.sinceMs >= DUAL_CONNECT_MS)
        return false;
    const openedByGreater = (link: LinkFacts) => link.outgoing === ownId > peerId;
    return openedByGreater(older);
}
