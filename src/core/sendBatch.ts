// Sending a batch of files to one device: announce a file, let the device fetch it, wait for
// its confirmation, then the next.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Semaphore} from '../lib/semaphore.js';
import {trace} from '../lib/trace.js';
import {childCancellable, delay, errorMessage, isCancelled, openFile} from '../net/gio.js';
import {Link} from '../net/link.js';
import {PayloadError, PayloadHandshakeError, sendPayload} from '../net/payload.js';
import {ACCEPT_TIMEOUT_MS, PayloadServer} from '../net/payloadServer.js';
import {pemToDer} from '../protocol/der.js';
import {fileShareRequest, isGSConnectCertificate, pauseBeforeNextFileMs} from '../protocol/share.js';
import {Device} from './device.js';
import {Engine, EngineError} from './engine.js';
import {peerCertificateFromPem} from './identity/certificate.js';
import {Transfer} from './transfer.js';

export interface OutgoingFile {
    file: Gio.File;
    path: string;
    size: number;
    /** Milliseconds since the epoch. */
    mtime: number;
    name: string;
}

/**
 * How long a device that linked again gets to fetch a file announced on its old link before the
 * file is announced on the new one: a device that did read the first announcement connects at
 * once (kdeconnectd within milliseconds), and a second announcement must not reach one that did.
 */
export const REANNOUNCE_GRACE_MS = 3000;

/** How long a device whose links all dropped in a fetch gets to link again. */
const RELINK_WAIT_MS = 10_000;

/** Announcements of one file at most: the first, and one on each new link after it. */
const MAX_ANNOUNCEMENTS = 4;

/**
 * How long the port of a file announced more than once stays bound after the file was fetched:
 * a late fetch prompted by the announcement that was not used is closed at once there, rather
 * than reach the server of the next file (which would take the first free port, the same one).
 */
const REANNOUNCED_PORT_HELD_MS = ACCEPT_TIMEOUT_MS;

/** What every file of a batch is sent with. */
interface PeerSide {
    identity: NonNullable<Engine['identity']>;
    peerCertificate: Gio.TlsCertificate;
    gsconnect: boolean;
    withPayload: (f: OutgoingFile) => boolean;
}

/** The most files Ferry's sender has under way at once, to a receiver that fetches that many at once. */
const MAX_FILES_UNDER_WAY = 4;

/**
 * How many files go to `device` at once, now. One, the next announced only once the last is
 * confirmed, unless the device said it fetches more at once (a Ferry says so in answer to the
 * first file it is announced on a link: PACKET_FERRY_FETCHES); GSConnect never closes a payload
 * connection, and a protocol 7 kdeconnectd writes the file after it closed (quirk 11), so neither
 * gets more than one whatever it says.
 */
function filesUnderWay(device: Device, gsconnect: boolean): number {
    if (gsconnect || device.protocolVersion < 8)
        return 1;
    return Math.max(1, Math.min(device.fetchesAtOnce, MAX_FILES_UNDER_WAY));
}

export class Sender {
    /** Ports held after a file announced twice (closed on destroy). */
    private readonly held = new Set<PayloadServer>();

    constructor(private readonly engine: Engine, private readonly slots: Semaphore,
        private readonly log: (line: string) => void) {}

    destroy(): void {
        for (const server of this.held)
            server.close();
        this.held.clear();
    }

    async sendBatch(device: Device, t: Transfer, files: OutgoingFile[]): Promise<void> {
        const identity = this.engine.identity;
        const peerCertificate = device.trusted ? peerCertificateFromPem(device.trusted.certificatePem) : null;
        if (!identity || !peerCertificate)
            throw new EngineError(`${device.name} is not paired`);
        const gsconnect = isGSConnectCertificate(pemToDer(device.trusted!.certificatePem));
        // an empty file goes to a kdeconnectd as an announcement alone; GSConnect wants a payload
        const withPayload = (f: OutgoingFile) => f.size > 0 || gsconnect;
        const ahead = new OpenAhead(files, withPayload, t.cancellable);
        try {
            await this.sendFiles(device, t, files, ahead, {identity, peerCertificate, gsconnect, withPayload});
        } finally {
            ahead.discard();
        }
    }

    /**
     * Sends the files in order, each announced once fewer of the batch's files are unconfirmed
     * than the device takes at once (filesUnderWay: 1, the next file announced only once the last
     * is confirmed, until a Ferry says it takes more). A file counts as sent only once confirmed;
     * one that fails cancels the files after it, never one before, and the batch fails at the
     * first file that did not arrive.
     */
    private async sendFiles(device: Device, t: Transfer, files: OutgoingFile[], ahead: OpenAhead, peer: PeerSide):
        Promise<void> {
        const own: {cancellable: Gio.Cancellable; release: () => void}[] = [];
        const settled: Promise<void>[] = [];
        const depth = () => filesUnderWay(device, peer.gsconnect);
        // files announced and not yet confirmed or failed (they may be confirmed out of order)
        const underWay = new Semaphore(depth);
        let failure: {index: number; file: OutgoingFile; error: unknown} | null = null;
        const fail = (index: number, file: OutgoingFile, error: unknown) => {
            if (!failure || index < failure.index)
                failure = {index, file, error};
            own.slice(index + 1).forEach(c => c.cancellable !== t.cancellable && c.cancellable.cancel());
        };
        let confirmedBytes = 0;
        const moving = new Map<number, number>();
        const showProgress = () => {
            let bytes = confirmedBytes;
            moving.forEach(b => (bytes += b));
            t.info.bytes = bytes;
            t.update();
        };
        try {
            for (const [i, f] of files.entries()) {
                const slot = await underWay.acquire();
                if (failure || !device.link || device.link.closed) {
                    slot();
                    if (!failure)
                        fail(i, f, new EngineError(`${device.name} disconnected`));
                    break;
                }
                // with files under way at once, a file's own, cancelled when a file before it fails;
                // one at a time, the batch's: no file is under way to cancel, and the path to every
                // KDE Connect peer stays what it was
                const mine = depth() > 1 ? childCancellable(t.cancellable) : {cancellable: t.cancellable, release: () => undefined};
                own.push(mine);
                t.info.fileIndex = i;
                t.info.current = f.name;
                // throttled after the first file, as the receiver's: each update is a D-Bus signal
                // that names every file of the batch, 0.2–2 ms of the main thread (docs/benchmarks.md)
                t.update(i === 0);
                let announced = () => undefined as void;
                const announcement = new Promise<void>(resolve => (announced = resolve));
                const sent = this.sendFile(device, f, i, files.length, t.info.totalBytes, ahead, {...peer, cancellable: mine.cancellable},
                    announced, bytes => {
                        moving.set(i, bytes);
                        showProgress();
                    });
                settled.push(sent.then(how => {
                    trace('tx.done', f.name);
                    confirmedBytes += f.size;
                    t.info.delivered++;
                    this.log(`sent ${f.path} (${f.size} bytes) to ${device.name}: ${how}`);
                }, (error: unknown) => fail(i, f, error)).finally(() => {
                    moving.delete(i);
                    mine.release();
                    slot();
                }));
                // the announcements go out in the batch's order
                await Promise.race([announcement, settled[i]]);
                if (depth() === 1) {
                    await settled[i];
                    // a pause of 0 (protocol 8) is no timer either: a main-loop turn before every announcement
                    const pause = pauseBeforeNextFileMs(device.protocolVersion, peer.gsconnect, f.size);
                    if (!failure && i < files.length - 1 && peer.withPayload(f) && pause > 0)
                        await delay(pause, t.cancellable).catch(() => undefined);
                }
            }
            await Promise.all(settled);
        } finally {
            own.forEach(c => c.release());
        }
        t.info.bytes = confirmedBytes;
        if (failure) {
            const {file, error} = failure as {index: number; file: OutgoingFile; error: unknown};
            const cancelled = isCancelled(error) && t.cancellable.is_cancelled();
            const reason = cancelled ? 'cancelled' : `${file.name}: ${errorMessage(error)}`;
            this.log(`sending to ${device.name} failed: ${reason}`);
            return t.end(cancelled ? 'cancelled' : 'failed', reason);
        }
        t.end('done');
    }

    /**
     * Announces one file, lets the device fetch it and waits for its confirmation; resolves with
     * how it was confirmed. `announced` is called once the first announcement is written.
     */
    private async sendFile(device: Device, f: OutgoingFile, i: number, count: number, totalBytes: number, ahead: OpenAhead,
        peer: PeerSide & {cancellable: Gio.Cancellable}, announced: () => void, onProgress: (bytes: number) => void):
        Promise<string> {
        // on the device's link at the moment of sending: it may have been replaced meanwhile
        const announce = (link: Link, port: number | null) => link.send(fileShareRequest({filename: f.name, size: f.size,
            port, lastModified: f.mtime, numberOfFiles: count, totalPayloadSize: totalBytes}));
        if (!peer.withPayload(f)) {
            await announce(device.link!, null);
            announced();
            return 'announced without a payload, as empty files are';
        }
        for (let attempt = 1; ; attempt++) {
            trace('tx.start', f.name);
            const opened = await (attempt === 1 ? ahead.take(i, f) : openForSending(f, peer.cancellable));
            const input = opened.input;
            let server: PayloadServer | null = opened.server;
            try {
                trace('tx.listening', f.name);
                const {tcp, announcements, link} = await this.announceAndAccept(device, f.name, server,
                    l => announce(l, server!.port).then(announced), peer.cancellable);
                trace('tx.accepted', f.name);
                // the next file is opened and its port bound while this one moves: announced
                // the moment this one is confirmed (or at once, to a receiver that fetches more at once)
                ahead.next(i + 1);
                if (announcements > 1)
                    this.holdPort(server);
                else
                    server.close();
                server = null;
                let delivery;
                try {
                    delivery = await this.slots.run(() => sendPayload({tcp, input, size: f.size, cancellable: peer.cancellable,
                        certificate: peer.identity.certificate, peerCertificate: peer.peerCertificate,
                        waitForClose: !peer.gsconnect, traceKey: f.name, onProgress}));
                } catch (e) {
                    input.close_async(GLib.PRIORITY_LOW, null, null);
                    if (!(e instanceof PayloadHandshakeError) || attempt >= MAX_ANNOUNCEMENTS ||
                        !await this.relinked(device, link, peer.cancellable))
                        throw e;
                    // kdeconnectd drops a fetch under way, even in its handshake, with the link
                    // it came from (quirk 18); no byte of the file went out: the device needs it again
                    this.log(`announcing "${f.name}" to ${device.name} again: it gave up fetching it in the TLS ` +
                        `handshake (${errorMessage(e)}) as its link was replaced`);
                    continue;
                }
                trace('tx.confirmed', f.name);
                let how = delivery === 'closed' ? 'the device closed the connection after the last byte'
                    : 'the device acknowledged every byte but kept the connection open';
                if (announcements > 1 || attempt > 1)
                    how += ` (announced ${announcements + attempt - 1} times: its link was replaced before it fetched the file)`;
                return how;
            } catch (e) {
                if (server)
                    input.close_async(GLib.PRIORITY_LOW, null, null);
                throw e;
            } finally {
                server?.close();
            }
        }
    }

    /**
     * Announces a file and waits for the device to connect to `server` for it. kdeconnectd 25.04
     * and later open a new link for every announcement they hear from a linked Ferry and drop
     * the old one (docs/interop.md, quirk 18): a share request written to the old link in that
     * moment may never be read. So when the link a file was announced on is replaced or lost
     * before the device connected, and the device is linked again, it gets REANNOUNCE_GRACE_MS
     * to fetch the file from the first announcement; only then is the file announced again, on
     * the new link and the same port. One server accepts one connection: however many
     * announcements reach the device, it gets the file once.
     */
    private async announceAndAccept(device: Device, name: string, server: PayloadServer,
        announce: (link: Link) => Promise<void>, cancellable: Gio.Cancellable):
        Promise<{tcp: Gio.SocketConnection; announcements: number; link: Link}> {
        const accepting = childCancellable(cancellable);
        const accepted = server.accept(accepting.cancellable, ACCEPT_TIMEOUT_MS * MAX_ANNOUNCEMENTS + REANNOUNCE_GRACE_MS * MAX_ANNOUNCEMENTS)
            .then(tcp => ({kind: 'accepted' as const, tcp}));
        // a failed accept is seen by the race below; this keeps it from being reported as unhandled
        accepted.catch(() => undefined);
        const notFetched = () => new PayloadError(`the device did not connect to fetch the file within ${ACCEPT_TIMEOUT_MS / 1000} s`);
        try {
            let link = device.link;
            if (!link || link.closed)
                throw new EngineError(`${device.name} disconnected`);
            await announce(link);
            trace('tx.announced', name);
            for (let announcements = 1; ; announcements++) {
                const deadline = GLib.get_monotonic_time() / 1000 + ACCEPT_TIMEOUT_MS;
                const left = () => Math.max(0, deadline - GLib.get_monotonic_time() / 1000);
                const announcedOn = link;
                // the link it was announced on gone, a new one, then a moment for a fetch already on its way
                const stages = [
                    (w: Gio.Cancellable) => Promise.race([this.superseded(device, announcedOn, w), timeout(left(), w)]),
                    (w: Gio.Cancellable) => Promise.race([this.linked(device, w), timeout(left(), w)]),
                    (w: Gio.Cancellable) => delay(REANNOUNCE_GRACE_MS, w).then(() => ({kind: 'grace' as const})),
                ];
                for (const stage of stages) {
                    const next = await first(cancellable, () => accepted, stage);
                    if (next.kind === 'accepted')
                        return {tcp: next.tcp, announcements, link: announcedOn};
                    if (next.kind === 'timeout')
                        throw notFetched();
                }
                link = device.link;
                if (announcements >= MAX_ANNOUNCEMENTS || !link || link.closed)
                    throw announcements >= MAX_ANNOUNCEMENTS ? notFetched() : new EngineError(`${device.name} disconnected`);
                this.log(`announcing "${name}" to ${device.name} again: the link it was announced on was replaced ` +
                    `before the device fetched it (${REANNOUNCE_GRACE_MS / 1000} s ago)`);
                await announce(link);
                trace('tx.reannounced', name);
            }
        } finally {
            accepting.cancellable.cancel();
            accepting.release();
        }
    }

    /**
     * Whether the device's link `link` was replaced (or is, within REANNOUNCE_GRACE_MS) and the
     * device has an open link again (within RELINK_WAIT_MS: a device that dropped every link is
     * told where we are 1.5 s later, and comes back).
     */
    private async relinked(device: Device, link: Link, cancellable: Gio.Cancellable): Promise<boolean> {
        const gone = await first(cancellable, w => this.superseded(device, link, w), w => timeout(REANNOUNCE_GRACE_MS, w));
        if (gone.kind !== 'superseded')
            return false;
        const back = await first(cancellable, w => this.linked(device, w), w => timeout(RELINK_WAIT_MS, w));
        return back.kind === 'linked';
    }

    /** Resolves when `link` is no longer the device's link (replaced, or closed). */
    private superseded(device: Device, link: Link, c: Gio.Cancellable): Promise<{kind: 'superseded'}> {
        return this.until(c, () => link.closed || device.link !== link, [
            resolve => link.on('closed', resolve),
            resolve => this.engine.on('linked', d => d === device && resolve()),
        ]).then(() => ({kind: 'superseded' as const}));
    }

    /** Resolves when the device has an open link. */
    private linked(device: Device, c: Gio.Cancellable): Promise<{kind: 'linked'}> {
        return this.until(c, () => !!device.link && !device.link.closed, [
            resolve => this.engine.on('linked', d => d === device && resolve()),
        ]).then(() => ({kind: 'linked' as const}));
    }

    /** Resolves once `ready()` holds, checked now and at each of the events `watch` connects to. */
    private until(c: Gio.Cancellable, ready: () => boolean, watch: ((resolve: () => void) => () => void)[]): Promise<void> {
        return new Promise((resolve, reject) => {
            const offs: (() => void)[] = [];
            let cancelId = 0;
            const finish = (ok: boolean) => {
                offs.forEach(off => off());
                if (cancelId)
                    c.disconnect(cancelId);
                cancelId = 0;
                if (ok)
                    resolve();
                else
                    reject(new Error('cancelled'));
            };
            if (ready()) {
                resolve();
                return;
            }
            for (const w of watch)
                offs.push(w(() => ready() && finish(true)));
            cancelId = c.connect(() => GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
                finish(false);
                return GLib.SOURCE_REMOVE;
            }));
        });
    }

    private holdPort(server: PayloadServer): void {
        this.held.add(server);
        server.refuseFor(REANNOUNCED_PORT_HELD_MS, () => this.held.delete(server));
    }
}

/** A file opened for sending, with the payload port it is to be announced on. */
interface Opened {
    input: Gio.FileInputStream;
    server: PayloadServer;
}

async function openForSending(f: OutgoingFile, cancellable: Gio.Cancellable): Promise<Opened> {
    const input = await openFile(f.file, GLib.PRIORITY_LOW, cancellable);
    try {
        return {input, server: new PayloadServer()};
    } catch (e) {
        input.close_async(GLib.PRIORITY_LOW, null, null);
        throw e;
    }
}

/**
 * The next file of a batch, opened (and its port bound) while the one before it is sent: 1–1.5 ms
 * of each small file went to this before its announcement. At most one file ahead, never one
 * already taken; one that is not used (the batch failed or was cancelled) is closed.
 */
class OpenAhead {
    private index = -1;
    private taken = -1;
    private opening: Promise<Opened> | null = null;

    constructor(private readonly files: OutgoingFile[], private readonly withPayload: (f: OutgoingFile) => boolean,
        private readonly cancellable: Gio.Cancellable) {}

    /** Opens file i ahead, unless it is opened or taken already (a batch with files under way at once takes it first). */
    next(i: number): void {
        const f = this.files[i];
        if (!f || this.opening || i <= this.taken || !this.withPayload(f))
            return;
        this.index = i;
        this.opening = openForSending(f, this.cancellable);
        // a failure is reported when file i is sent, as it would have been without opening ahead
        this.opening.catch(() => undefined);
    }

    /** File i, opened ahead or now; an error opening it surfaces here. */
    take(i: number, f: OutgoingFile): Promise<Opened> {
        this.taken = Math.max(this.taken, i);
        const opening = this.index === i ? this.opening : null;
        if (opening) {
            this.opening = null;
            this.index = -1;
            return opening;
        }
        this.discard();
        return openForSending(f, this.cancellable);
    }

    discard(): void {
        this.opening?.then(o => {
            o.input.close_async(GLib.PRIORITY_LOW, null, null);
            o.server.close();
        }).catch(() => undefined);
        this.opening = null;
        this.index = -1;
    }
}

/**
 * The first to settle of what each of `waits` makes; they share one cancellable, cancelled once
 * one has settled, so the others let go of their timers and signals.
 */
async function first<W extends ((c: Gio.Cancellable) => Promise<unknown>)[]>(cancellable: Gio.Cancellable, ...waits: W):
    Promise<Awaited<ReturnType<W[number]>>> {
    const {cancellable: c, release} = childCancellable(cancellable);
    const all = waits.map(w => w(c));
    all.forEach(p => p.catch(() => undefined));
    try {
        return await Promise.race(all) as Awaited<ReturnType<W[number]>>;
    } finally {
        c.cancel();
        release();
    }
}

function timeout(ms: number, c: Gio.Cancellable): Promise<{kind: 'timeout'}> {
    return delay(ms, c).then(() => ({kind: 'timeout' as const}));
}
