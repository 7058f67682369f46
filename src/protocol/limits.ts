// Numbers fixed by the KDE Connect LAN protocol, and the bounds Ferry puts on what peers send.

export const UDP_PORT = 1716;
export const TCP_PORT_MIN = 1716;
export const TCP_PORT_MAX = 1764;
export const PAYLOAD_PORT_MIN = 1739;
export const PAYLOAD_PORT_MAX = 1764;

/** kdeconnectd caps the identity line at 8 KiB, before and after TLS. */
export const MAX_IDENTITY_BYTES = 8192;
/** Other packets: kdeconnectd ≥ 26.04 and Android cap at 32 MiB. */
export const MAX_PACKET_BYTES = 32 * 1024 * 1024;
/**
 * Packets from a device that is not paired: only pairing (and identity) packets are any use,
 * and they are small; a longer line ends the link instead of costing megabytes.
 */
export const MAX_UNPAIRED_PACKET_BYTES = 64 * 1024;
/** A UDP identity from a real peer is ~2.2 KB (IP-fragmented); take any whole datagram. */
export const MAX_DATAGRAM_BYTES = 65536;

/** Identity line plus TLS handshake must finish within this (kdeconnectd aborts after 1 s). */
export const LINK_SETUP_TIMEOUT_MS = 1000;
/** Links being set up at once; more connections are closed at once (a flood of half-open ones). */
export const MAX_PENDING_LINKS = 64;
/** Links to devices that are not paired (kdeconnectd allows 42 too). */
export const MAX_UNPAIRED_LINKS = 42;
export const PAIR_TIMEOUT_MS = 30_000;
/** Protocol 8: a pair request whose timestamp is further off than this is refused. */
export const PAIR_MAX_CLOCK_SKEW_S = 1800;

export const PROTOCOL_VERSION = 8;
export const MIN_PROTOCOL_VERSION = 7;

export const DEVICE_ID_PATTERN = /^[a-zA-Z0-9_-]{32,38}$/;
export const DEVICE_NAME_MAX_CHARS = 32;
export const DEVICE_TYPES = ['desktop', 'laptop', 'phone', 'tablet', 'tv'] as const;
export type DeviceType = typeof DEVICE_TYPES[number];

export const PACKET_IDENTITY = 'kdeconnect.identity';
export const PACKET_PAIR = 'kdeconnect.pair';
export const PACKET_SHARE_REQUEST = 'kdeconnect.share.request';
export const PACKET_SHARE_UPDATE = 'kdeconnect.share.request.update';
