// Opening links with KDE Connect's inverted TLS roles: the side that received the UDP identity
// opens TCP, sends its identity in plaintext, then acts as TLS server; the side that accepted
// TCP reads that identity, then acts as TLS client. Protocol 8 then re-exchanges identities
// inside TLS, and only the encrypted copy is trusted.
import Gio from 'gi://Gio';
import {
    Identity, OwnIdentity, encryptedIdentityMismatch, kdeRewrittenId, makeIdentityPacket, negotiatedVersion,
    parseIdentity,
} from '../protocol/identity.js';
import {subjectCommonName} from '../protocol/der.js';
import {LINK_SETUP_TIMEOUT_MS, MAX_IDENTITY_BYTES} from '../protocol/limits.js';
import {PacketError, encodePacket} from '../protocol/packet.js';
import {cancelAfter, childCancellable, delay, errorMessage, isCancelled, setNoDelay, writeAll} from './gio.js';
import {Link} from './link.js';
import {PacketReader} from './packetReader.js';
import {PinPolicy, certificateDer, closeStream, handshake, tlsClient, tlsServer} from './tls.js';

/** How long the encrypted identity of protocol 8 may take after the handshake. */
const ENCRYPTED_IDENTITY_TIMEOUT_MS = 5000;
/** How long the TLS client waits for the server's encrypted identity before sending its own. */
const CLIENT_IDENTITY_GRACE_MS = 250;

export type LinkErrorKind = 'protocol' | 'certificate' | 'timeout' | 'io' | 'self';

export class LinkError extends Error {
    override name = 'LinkError';
    constructor(message: string, readonly kind: LinkErrorKind, readonly deviceId?: string) {
        super(message);
    }
}

export interface LinkContext {
    own(): OwnIdentity;
    certificate: Gio.TlsCertificate;
    /** The stored certificate of a paired device, or null when the device is not paired. */
    pinnedCertificate(deviceId: string): Gio.TlsCertificate | null;
}

function checkCommonName(cert: Gio.TlsCertificate, deviceId: string): void {
    let cn: string | null;
    try {
        cn = subjectCommonName(certificateDer(cert));
    } catch (e) {
        throw new LinkError(`certificate of ${deviceId} is unreadable: ${errorMessage(e)}`, 'certificate', deviceId);
    }
    if (cn === null || (cn !== deviceId && kdeRewrittenId(cn) !== deviceId))
        throw new LinkError(`certificate common name ${cn ?? '(none)'} does not match device id ${deviceId}`,
            'certificate', deviceId);
}

async function secure(ctx: LinkContext, conn: Gio.TlsConnection, pin: PinPolicy, plain: Identity,
    cancellable: Gio.Cancellable, handshakeDone: () => void): Promise<{peerCert: Gio.TlsCertificate; identity: Identity; reader: PacketReader; version: number}> {
    try {
        await handshake(conn, cancellable);
    } catch (e) {
        if (pin.mismatch)
            throw new LinkError(`${plain.deviceName} (${plain.deviceId}) presented a certificate other than the paired one`,
                'certificate', plain.deviceId);
        throw e;
    }
    handshakeDone();
    const peerCert = conn.get_peer_certificate();
    if (!peerCert)
        throw new LinkError(`${plain.deviceId} presented no certificate`, 'certificate', plain.deviceId);
    if (pin.expected && !peerCert.is_same(pin.expected))
        throw new LinkError(`${plain.deviceId} presented a certificate other than the paired one`, 'certificate', plain.deviceId);
    checkCommonName(peerCert, plain.deviceId);

    const reader = new PacketReader(conn.input_stream, MAX_IDENTITY_BYTES);
    const own = ctx.own();
    const version = negotiatedVersion(own.protocolVersion, plain.protocolVersion);
    if (version < 8)
        return {peerCert, identity: plain, reader, version};

    const {cancellable: phase, release} = childCancellable(cancellable);
    const disarm = cancelAfter(phase, ENCRYPTED_IDENTITY_TIMEOUT_MS);
    try {
        const sendOurs = () => writeAll(conn.output_stream, encodePacket(makeIdentityPacket(own)), phase);
        let packet;
        if (conn instanceof Gio.TlsClientConnection) {
            // As TLS client our handshake ends first, and bytes sent at once can reach the peer
            // with our Finished message: kdeconnectd 25.04 then never sees them. Answer its
            // identity instead (it sends first), or speak after a moment if it does not.
            const theirs = reader.read(phase);
            // the grace delay must not outlive the race with a rejection nobody handles
            await Promise.race([theirs, delay(CLIENT_IDENTITY_GRACE_MS, phase)].map(p => p.catch(() => undefined)));
            await sendOurs();
            packet = await theirs;
        } else {
            await sendOurs();
            packet = await reader.read(phase);
        }
        if (packet === null)
            throw new LinkError(`${plain.deviceId} closed the connection before its encrypted identity`, 'protocol', plain.deviceId);
        if (packet instanceof PacketError)
            throw new LinkError(`encrypted identity of ${plain.deviceId}: ${packet.message}`, 'protocol', plain.deviceId);
        const encrypted = parseIdentity(packet);
        const mismatch = encryptedIdentityMismatch(plain, encrypted);
        if (mismatch)
            throw new LinkError(mismatch, 'protocol', plain.deviceId);
        encrypted.tcpPort = plain.tcpPort;
        return {peerCert, identity: encrypted, reader, version};
    } catch (e) {
        if (isCancelled(e) && phase.is_cancelled() && !cancellable.is_cancelled())
            throw new LinkError(`${plain.deviceId} sent no encrypted identity in time`, 'timeout', plain.deviceId);
        throw e;
    } finally {
        disarm();
        release();
    }
}

async function withDeadline<T>(what: string, parent: Gio.Cancellable | null,
    body: (c: Gio.Cancellable, handshakeDone: () => void) => Promise<T>, onFail: () => void): Promise<T> {
    const {cancellable, release} = childCancellable(parent);
    const disarm = cancelAfter(cancellable, LINK_SETUP_TIMEOUT_MS);
    try {
        return await body(cancellable, disarm);
    } catch (e) {
        onFail();
        if (e instanceof LinkError)
            throw e;
        if (e instanceof PacketError)
            throw new LinkError(`${what}: ${e.message}`, 'protocol');
        if (isCancelled(e) && !parent?.is_cancelled())
            throw new LinkError(`${what}: identity and handshake did not finish within ${LINK_SETUP_TIMEOUT_MS} ms`, 'timeout');
        throw new LinkError(`${what}: ${errorMessage(e)}`, 'io');
    } finally {
        disarm();
        release();
    }
}

/** A link: no Nagle delay on its small packets and handshake, keepalive to notice a vanished peer. */
function tuneLinkSocket(conn: Gio.SocketConnection): void {
    setNoDelay(conn);
    try {
        conn.get_socket().set_keepalive(true);
    } catch {
        // not fatal: the link still works, dead peers are then noticed later
    }
}

/** We received `peer`'s UDP identity from `address`: connect to it and become the TLS server. */
export async function openOutgoingLink(ctx: LinkContext, address: Gio.InetAddress, peer: Identity,
    cancellable: Gio.Cancellable | null): Promise<Link> {
    if (peer.tcpPort === undefined)
        throw new LinkError(`${peer.deviceId} announced no usable tcpPort`, 'protocol', peer.deviceId);
    const target = new Gio.InetSocketAddress({address, port: peer.tcpPort});
    let tcp: Gio.SocketConnection | null = null;
    let tls: Gio.TlsServerConnection | null = null;
    const what = `link to ${peer.deviceName} at ${address.to_string()}:${peer.tcpPort}`;
    return withDeadline(what, cancellable, async (c, handshakeDone) => {
        const client = new Gio.SocketClient({enable_proxy: false});
        tcp = await client.connect_async(target, c);
        tuneLinkSocket(tcp);
        const own = ctx.own();
        const hello = makeIdentityPacket(own, {targetDeviceId: peer.deviceId, targetProtocolVersion: peer.protocolVersion});
        await writeAll(tcp.output_stream, encodePacket(hello), c);
        const pin: PinPolicy = {expected: ctx.pinnedCertificate(peer.deviceId)};
        tls = tlsServer(tcp, ctx.certificate, pin);
        const s = await secure(ctx, tls, pin, peer, c, handshakeDone);
        return new Link(tls, s.reader, s.identity, s.peerCert, address, s.version, true);
    }, () => {
        if (tls)
            closeStream(tls).catch(() => undefined);
        else if (tcp)
            closeStream(tcp).catch(() => undefined);
    });
}

/** A peer connected to our TCP port: read its identity, then become the TLS client. */
export async function acceptIncomingLink(ctx: LinkContext, tcp: Gio.SocketConnection,
    cancellable: Gio.Cancellable | null): Promise<Link> {
    const remote = tcp.get_remote_address() as Gio.InetSocketAddress;
    const address = remote.get_address();
    let tls: Gio.TlsClientConnection | null = null;
    const what = `connection from ${address.to_string()}`;
    return withDeadline(what, cancellable, async (c, handshakeDone) => {
        tuneLinkSocket(tcp);
        const plainReader = new PacketReader(tcp.input_stream, MAX_IDENTITY_BYTES);
        const packet = await plainReader.read(c);
        if (packet === null)
            throw new LinkError(`${what} closed before sending its identity`, 'protocol');
        if (packet instanceof PacketError)
            throw new LinkError(`${what}: ${packet.message}`, 'protocol');
        if (plainReader.buffered > 0)
            throw new LinkError(`${what} sent data after its identity before TLS`, 'protocol');
        const peer = parseIdentity(packet);
        const own = ctx.own();
        if (peer.deviceId === own.deviceId)
            throw new LinkError(`${what} is ourselves`, 'self', peer.deviceId);
        if (peer.targetDeviceId !== undefined && peer.targetDeviceId !== own.deviceId &&
            peer.targetDeviceId !== kdeRewrittenId(own.deviceId))
            throw new LinkError(`${what} is addressed to ${peer.targetDeviceId}, not to us`, 'protocol', peer.deviceId);
        // kdeconnectd ≥ 26.04 drops such a link too: the opener took our version from a stale announcement
        if (peer.targetProtocolVersion !== undefined && peer.targetProtocolVersion !== own.protocolVersion)
            throw new LinkError(`${what} expects protocol ${peer.targetProtocolVersion}, we speak ${own.protocolVersion}`, 'protocol', peer.deviceId);
        const pin: PinPolicy = {expected: ctx.pinnedCertificate(peer.deviceId)};
        tls = tlsClient(tcp, ctx.certificate, pin);
        const s = await secure(ctx, tls, pin, peer, c, handshakeDone);
        return new Link(tls, s.reader, s.identity, s.peerCert, address, s.version, false);
    }, () => {
        closeStream(tls ?? tcp).catch(() => undefined);
    });
}
