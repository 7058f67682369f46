// Payload streams. Bytes never pass through JS, and only a small file's move on the main thread:
// each copy is one GIO splice with a non-pollable buffered wrapper on the TLS side, which GIO
// runs in a worker thread; the main loop only sees the start, a low-priority progress timer and
// the end. A payload of at most SMALL_PAYLOAD_BYTES goes GBytes by GBytes on the main loop.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import {cancelAfter, childCancellable, closeOutput, connectTcp, errorMessage, holdReferences, isCancelled, readBytes, setNoDelay, spliceFrom,
    writeAllBytes} from './gio.js';
import {PinPolicy, closeSocket, closeStream, handshake, tlsClient, tlsServer} from './tls.js';
import {trace} from '../lib/trace.js';

const SPLICE = Gio.OutputStreamSpliceFlags;
const PROGRESS_MS = 100;
/** A transfer that moves no byte for this long is abandoned. */
export const STALL_TIMEOUT_MS = 15_000;
/** Less than this over STALL_TIMEOUT_MS is a stall (273 bytes/s: no real link is that slow). */
const MIN_PROGRESS_BYTES = 4096;
const CONNECT_TIMEOUT_MS = 10_000;

export class PayloadError extends Error {
    override name = 'PayloadError';
}

/** The receiver connected but the TLS handshake failed (not for a certificate we refused): no byte of the file went out. */
export class PayloadHandshakeError extends PayloadError {
    override name = 'PayloadHandshakeError';
}

export interface PayloadPeer {
    certificate: Gio.TlsCertificate;
    /** The device's pinned certificate. */
    peerCertificate: Gio.TlsCertificate;
}

/** What a stalled transfer says: `moved` bytes (maybe none) in the last `stallMs`. */
function stallError(moved: number, stallMs: number): PayloadError {
    const seconds = Math.round(stallMs / 1000);
    return new PayloadError(`the transfer stalled: ${moved > 0 ? `only ${moved} bytes in ${seconds} s` : `no data for ${seconds} s`}`);
}

/**
 * Runs `start` (a splice) while watching `position()`: reports progress, ends the splice early
 * once `complete()` says so, and abandons it after STALL_TIMEOUT_MS without progress. The
 * splice's objects (`held`) get a C-side reference meanwhile (see holdReferences).
 */
async function watchedSplice(start: (c: Gio.Cancellable) => Promise<number>, position: () => number,
    onProgress: (bytes: number) => void, complete: (bytes: number) => boolean, outer: Gio.Cancellable | null,
    stallMs: number, held: GObject.Object[]): Promise<number> {
    const {cancellable, release} = childCancellable(outer);
    const unhold = holdReferences(held);
    // a stall is too little progress over stallMs: a peer dribbling a byte a second stalls too
    let last = -1, windowStart = GLib.get_monotonic_time(), windowPos = 0, early = false;
    let stalled: PayloadError | null = null;
    // a stream closed by the splice reports position 0: keep the last real figure
    let result = -1;
    const timer = GLib.timeout_add(GLib.PRIORITY_LOW, PROGRESS_MS, () => {
        const pos = position();
        const now = GLib.get_monotonic_time();
        if (pos !== last) {
            last = pos;
            onProgress(pos);
        }
        if (complete(pos)) {
            early = true;
            cancellable.cancel();
        } else if (now - windowStart > stallMs * 1000) {
            const moved = pos - windowPos;
            if (moved < MIN_PROGRESS_BYTES) {
                stalled = stallError(moved, stallMs);
                cancellable.cancel();
            }
            windowStart = now;
            windowPos = pos;
        }
        return GLib.SOURCE_CONTINUE;
    });
    try {
        result = await start(cancellable);
        return result;
    } catch (e) {
        if (early && isCancelled(e)) {
            result = position();
            return result;
        }
        if (stalled)
            throw stalled;
        throw e;
    } finally {
        GLib.source_remove(timer);
        release();
        unhold();
        if (result >= 0)
            onProgress(result);
    }
}

/**
 * A payload at most this big is copied by the main loop, a GBytes at a time, instead of by a
 * splice in a worker thread: the splice's thread hops cost a small file more than its bytes
 * (docs/benchmarks.md), and decrypting or encrypting 64 KiB takes the main loop well under a
 * millisecond. The bytes still never reach JS: each GBytes goes from one stream to the other.
 */
export const SMALL_PAYLOAD_BYTES = 64 * 1024;

/** One read or write of a stall-watched copy (stallWatched), given the cancellable it must use. */
type Step = <S>(op: (c: Gio.Cancellable) => Promise<S>) => Promise<S>;

/**
 * Runs `body`, whose reads and writes each go through `step`: a step that moves nothing for
 * `stallMs` is cancelled, and the whole then fails as a stall (as cancelled only when `outer` was).
 */
async function stallWatched<T>(outer: Gio.Cancellable | null, stallMs: number, body: (step: Step) => Promise<T>): Promise<T> {
    const {cancellable, release} = childCancellable(outer);
    const step: Step = async op => {
        const disarm = cancelAfter(cancellable, stallMs);
        try {
            return await op(cancellable);
        } finally {
            disarm();
        }
    };
    try {
        return await body(step);
    } catch (e) {
        if (isCancelled(e) && !outer?.is_cancelled())
            throw stallError(0, stallMs); // the timer of one read or write: nothing moved for stallMs
        throw e;
    } finally {
        release();
    }
}

/**
 * Copies up to `limit` bytes from `input` to `output` (see SMALL_PAYLOAD_BYTES) and closes
 * `output`; returns how many bytes, fewer when `input` ended first. The bytes are read on the
 * main loop into GBytes, then written and `output` closed in one splice from memory, which GIO
 * runs in a worker thread: one call from JS where a write and a close were two, each a JS
 * round trip that held the main thread (docs/benchmarks.md). A stall is what it is for a splice
 * (watchedSplice): no byte for `stallMs`, or fewer than MIN_PROGRESS_BYTES in it. A read that
 * fails writes nothing; `output` is then left open, for the caller to discard.
 */
async function copySmall(input: Gio.InputStream, output: Gio.OutputStream, limit: number,
    onProgress: (bytes: number) => void, outer: Gio.Cancellable | null, stallMs: number): Promise<number> {
    let copied = 0, windowStart = GLib.get_monotonic_time(), windowPos = 0;
    try {
        return await stallWatched(outer, stallMs, async step => {
            const content = new Gio.MemoryInputStream();
            while (copied < limit) {
                const bytes = await step(c => readBytes(input, limit - copied, GLib.PRIORITY_DEFAULT, c));
                if (bytes.get_size() === 0)
                    break;
                content.add_bytes(bytes);
                copied += bytes.get_size();
                const now = GLib.get_monotonic_time();
                if (now - windowStart > stallMs * 1000) {
                    if (copied - windowPos < MIN_PROGRESS_BYTES)
                        throw stallError(copied - windowPos, stallMs);
                    windowStart = now;
                    windowPos = copied;
                }
            }
            const written = await step(c => spliceFrom(output, content, SPLICE.CLOSE_SOURCE | SPLICE.CLOSE_TARGET,
                GLib.PRIORITY_DEFAULT, c));
            if (written !== copied)
                throw new PayloadError(`only ${written} of ${copied} bytes could be written`);
            return copied;
        });
    } finally {
        onProgress(copied);
    }
}

async function pinnedHandshake(tls: Gio.TlsConnection, pin: PinPolicy, cancellable: Gio.Cancellable | null): Promise<void> {
    try {
        await handshake(tls, cancellable, GLib.PRIORITY_LOW);
    } catch (e) {
        if (pin.mismatch)
            throw new PayloadError('the payload connection presented another certificate than the paired one');
        throw e;
    }
}

/**
 * Receives a payload as TLS client from the device at `address`:`port` into `out`. With a known
 * `size` the payload is complete as soon as `size` bytes are in (some senders never close);
 * extra bytes are cut off; fewer bytes are an error. `size` -1 reads to the end.
 */
export async function receivePayload(o: PayloadPeer & {
    address: Gio.InetAddress; port: number; size: number;
    /** Where the bytes go, asked for once the connection is (it is made while the connection is set up). */
    out: () => Promise<Gio.FileOutputStream>;
    cancellable: Gio.Cancellable | null; onProgress: (bytes: number) => void; stallMs?: number;
    /** The file's name in benchmark traces. */
    traceKey?: string;
}): Promise<number> {
    const key = o.traceKey ?? '';
    // the SYN goes out in this call, before anything else is started
    const connecting = connectTcp(o.address, o.port, CONNECT_TIMEOUT_MS / 1000, o.cancellable);
    // settled here, so that a failure to make the file is seen (and not unhandled) whenever it comes
    const output = o.out().then(stream => ({stream, error: null}), (error: unknown) => ({stream: null, error}));
    let tcp: Gio.SocketConnection;
    try {
        tcp = await connecting;
    } catch (e) {
        if (isCancelled(e))
            throw e;
        throw new PayloadError(`cannot connect to the device's payload port ${o.port}: ${errorMessage(e)}`);
    }
    setNoDelay(tcp);
    trace('rx.connected', key);
    const pin: PinPolicy = {expected: o.peerCertificate};
    const tls = tlsClient(tcp, o.certificate, pin);
    try {
        await pinnedHandshake(tls, pin, o.cancellable);
        trace('rx.handshake', key);
        if (o.size === 0)
            return 0;
        const made = await output;
        if (!made.stream)
            throw made.error;
        const out = made.stream;
        let ended: unknown = null;
        // how many bytes the file has: a small one's copy closes the file, whose position then means nothing
        let got = -1;
        try {
            if (o.size >= 0 && o.size <= SMALL_PAYLOAD_BYTES) {
                got = await copySmall(tls.input_stream, out, o.size, o.onProgress, o.cancellable, o.stallMs ?? STALL_TIMEOUT_MS);
            } else {
                const input = new Gio.BufferedInputStream({base_stream: tls.input_stream, buffer_size: 64 * 1024,
                    close_base_stream: false});
                await watchedSplice(c => spliceFrom(out, input, SPLICE.CLOSE_SOURCE, GLib.PRIORITY_LOW, c),
                    () => out.tell(), o.onProgress, pos => o.size >= 0 && pos >= o.size, o.cancellable,
                    o.stallMs ?? STALL_TIMEOUT_MS, [tls, tcp, tls.input_stream, input, out]);
            }
        } catch (e) {
            ended = e;
        }
        trace('rx.lastByte', key);
        if (got < 0)
            got = out.is_closed() ? 0 : out.tell();
        // Bytes that all arrived are the file, however the sender hangs up: kdeconnectd closes
        // without a TLS close_notify right after its last byte, and the splice then fails with
        // G_TLS_ERROR_EOF, often in the same instant the last bytes are written. A payload of
        // unknown size (-1) has no other end than that close.
        if (ended && !(o.size >= 0 && got >= o.size) && !(o.size < 0 && isUncleanEof(ended)))
            throw ended;
        if (o.size >= 0 && got < o.size)
            throw new PayloadError(`the device sent ${got} of ${o.size} bytes`);
        if (o.size >= 0 && got > o.size)
            out.truncate(o.size, null); // extra bytes beyond the announced size are not the file's
        return o.size >= 0 ? o.size : got;
    } finally {
        // the receiver's close_notify is the sender's confirmation (confirmDelivery): without it, a
        // reset for the sender's own close_notify, unread, can reach a Ferry sender first
        await closeStream(tls, GLib.PRIORITY_LOW);
        trace('rx.closed', key);
    }
}

/** The peer closed the TCP connection without a TLS close_notify. */
function isUncleanEof(e: unknown): boolean {
    return e instanceof GLib.Error && e.matches(Gio.tls_error_quark(), Gio.TlsError.EOF);
}

/** How the receiver confirmed a payload: it closed the connection, or its TCP acknowledged every byte and the end. */
export type Delivery = 'closed' | 'acknowledged';

/**
 * Sends `size` bytes of `input` over `tcp` as TLS server, ends the stream and waits for the
 * receiver to confirm (see confirmDelivery). Resolves only when it has.
 */
export async function sendPayload(o: PayloadPeer & {
    tcp: Gio.SocketConnection; input: Gio.FileInputStream; size: number;
    cancellable: Gio.Cancellable | null; onProgress: (bytes: number) => void; stallMs?: number;
    /** false: a receiver known never to close (GSConnect): its TCP acknowledgement is the confirmation. */
    waitForClose?: boolean;
    /** The file's name in benchmark traces. */
    traceKey?: string;
}): Promise<Delivery> {
    const key = o.traceKey ?? '';
    const pin: PinPolicy = {expected: o.peerCertificate};
    const tls = tlsServer(o.tcp, o.certificate, pin);
    // a small file is read while the receiver shakes hands: the read is a worker thread's round
    // trip, and after the handshake it held up every small file's bytes (docs/benchmarks.md)
    const small = o.size <= SMALL_PAYLOAD_BYTES ? readSmall(o.input, o.size, o.cancellable, o.stallMs ?? STALL_TIMEOUT_MS) : null;
    let delivery: Delivery | null = null;
    try {
        try {
            await pinnedHandshake(tls, pin, o.cancellable);
        } catch (e) {
            // kdeconnectd 22.12 connects for an empty file and hangs up at once: nothing was owed
            if (o.size === 0 && !pin.mismatch && !isCancelled(e))
                return 'closed';
            throw pin.mismatch || isCancelled(e) ? e : new PayloadHandshakeError(errorMessage(e));
        }
        trace('tx.handshake', key);
        let sent: number;
        if (small) {
            sent = await sendSmall(await small, tls, o);
        } else {
            const out = new Gio.BufferedOutputStream({base_stream: tls.output_stream, buffer_size: 1024 * 1024,
                close_base_stream: false});
            sent = await watchedSplice(
                c => spliceFrom(out, o.input, SPLICE.CLOSE_SOURCE | SPLICE.CLOSE_TARGET, GLib.PRIORITY_LOW, c),
                () => o.input.tell(), o.onProgress, () => false, o.cancellable, o.stallMs ?? STALL_TIMEOUT_MS,
                [tls, o.tcp, tls.output_stream, out, o.input]);
        }
        if (sent !== o.size)
            throw new PayloadError(`the file changed while it was sent (${sent} bytes instead of ${o.size})`);
        trace('tx.lastByte', key);
        delivery = await confirmDelivery(tls, o.tcp, o.cancellable, o.waitForClose === false ? 0 : CONFIRM_GRACE_MS);
        return delivery;
    } finally {
        // a read still under way when the handshake failed closes the file itself when done
        if (small)
            small.catch(() => undefined);
        // Confirmed, the end of our stream went out already (confirmDelivery): a TLS close would
        // tell the receiver nothing more, and its worker thread's round trip held up the next
        // file. A failed send ends cleanly, so that the receiver names what it got.
        if (delivery)
            closeSocket(tls);
        else
            await closeStream(tls, GLib.PRIORITY_LOW);
    }
}

/** A small file's content, read whole, in GBytes that JS never looks into. */
interface SmallContent {
    chunks: GLib.Bytes[];
    /** How many bytes the file had: size + 1 when it grew, fewer than size when it shrank. */
    length: number;
}

/**
 * Reads up to size + 1 bytes of a small file (SMALL_PAYLOAD_BYTES; one more than its size tells
 * that it grew) and closes it: one read for a local file, more only where the file system gives
 * less without being at the end.
 */
async function readSmall(input: Gio.FileInputStream, size: number, outer: Gio.Cancellable | null, stallMs: number):
    Promise<SmallContent> {
    try {
        // a file system that gives nothing for stallMs (a hung network mount) stalls the send
        return await stallWatched(outer, stallMs, async step => {
            const chunks: GLib.Bytes[] = [];
            let length = 0;
            while (length <= size) {
                const bytes = await step(c => readBytes(input, size + 1 - length, GLib.PRIORITY_DEFAULT, c));
                if (bytes.get_size() === 0)
                    break;
                chunks.push(bytes);
                length += bytes.get_size();
            }
            return {chunks, length};
        });
    } finally {
        input.close_async(GLib.PRIORITY_DEFAULT, null, null);
    }
}

/**
 * A small file, read ahead (readSmall), to the TLS stream on the main loop; returns how many
 * bytes the file had. Nothing is written when it grew or shrank: the send fails as it did when
 * the change was seen after the bytes.
 */
async function sendSmall(content: SmallContent, tls: Gio.TlsConnection,
    o: {size: number; cancellable: Gio.Cancellable | null; onProgress: (bytes: number) => void; stallMs?: number}):
    Promise<number> {
    if (content.length !== o.size)
        return content.length;
    let written = 0;
    try {
        // nothing moved in stallMs: the receiver stopped reading (a stall, as copySmall's)
        return await stallWatched(o.cancellable, o.stallMs ?? STALL_TIMEOUT_MS, async step => {
            for (const chunk of content.chunks) {
                await step(c => writeAllBytes(tls.output_stream, chunk, c));
                written += chunk.get_size();
            }
            return written;
        });
    } finally {
        o.onProgress(written);
    }
}

/**
 * How long a receiver may keep the payload connection open after its TCP acknowledged the
 * last byte and the end of the stream, before that acknowledgement is taken as delivery. Every
 * receiver measured closes at once but GSConnect, which closes only when its garbage collector
 * finalises the connection, and is known by its certificate (waitForClose false).
 */
export const CONFIRM_GRACE_MS = 1500;
/** A receiver that has not even acknowledged the bytes by then has not taken them. */
export const CONFIRM_TIMEOUT_MS = 30_000;
const TCP_INFO_POLL_MS = 100;
const IPPROTO_TCP = 6, TCP_INFO = 11;
/** linux/tcp_states.h: our FIN was acknowledged, and with it every byte before it. */
const TCP_FIN_WAIT2 = 5, TCP_TIME_WAIT = 6, TCP_CLOSE = 7;

/**
 * The TCP state of `socket` (the first byte of struct tcp_info; GSocket reads an int's worth).
 */
function tcpState(socket: Gio.Socket): number {
    try {
        const [, value] = socket.get_option(IPPROTO_TCP, TCP_INFO);
        return new Uint8Array(new Int32Array([value]).buffer)[0];
    } catch {
        return -1;
    }
}

/**
 * The protocol has no acknowledgement but the receiver's close: a receiver reads to the end and
 * then closes the payload connection. So: end the stream (TLS close_notify, TCP FIN) and wait
 * for that close, clean or not. A reset instead is no confirmation: the receiver closed with
 * bytes it had not read. A receiver that keeps the connection open has taken the payload once
 * its TCP acknowledged our FIN and `graceMs` passed without a close.
 */
async function confirmDelivery(tls: Gio.TlsConnection, tcp: Gio.SocketConnection, outer: Gio.Cancellable | null,
    graceMs: number): Promise<Delivery> {
    const socket = tcp.get_socket();
    const {cancellable, release} = childCancellable(outer);
    const started = GLib.get_monotonic_time();
    let acknowledged = false, timedOut = false;
    // TCP's state is polled, quickly at first (an acknowledgement takes a round trip), then at TCP_INFO_POLL_MS
    let timer = 0, pollMs = 2;
    const poll = () => {
        const waited = (GLib.get_monotonic_time() - started) / 1000;
        const state = tcpState(socket);
        if (waited >= graceMs && (state === TCP_FIN_WAIT2 || state === TCP_TIME_WAIT)) {
            acknowledged = true;
            cancellable.cancel();
        } else if (waited >= CONFIRM_TIMEOUT_MS && state !== TCP_CLOSE) {
            timedOut = true;
            cancellable.cancel();
        } else {
            pollMs = Math.min(pollMs * 2, TCP_INFO_POLL_MS);
            timer = GLib.timeout_add(GLib.PRIORITY_LOW, pollMs, poll);
        }
        return GLib.SOURCE_REMOVE;
    };
    timer = GLib.timeout_add(GLib.PRIORITY_LOW, pollMs, poll);
    try {
        // a receiver that reads nothing more can hold up even the close_notify: under the timer too
        let reset: unknown = null;
        await closeOutput(tls.output_stream, GLib.PRIORITY_LOW, cancellable).catch((e: unknown) => {
            if (isCancelled(e))
                throw e;
            reset = e;
        });
        // The end of our stream could not be written: the device had reset the connection already,
        // so it closed with bytes of the file unread (a receiver that read every byte and closed
        // sent a FIN, and writing after a FIN succeeds). Linux hands the reset to that write alone:
        // the read below would then see a plain end of stream and take it for the confirmation.
        if (reset)
            throw new PayloadError(`the device reset the connection before it had the whole file (${errorMessage(reset)})`);
        try {
            socket.shutdown(false, true);
        } catch {
            // already shut: the read below says how it ended
        }
        for (let extra = 0; ;) {
            const bytes = await readBytes(tls.input_stream, 4096, GLib.PRIORITY_LOW, cancellable);
            if (bytes.get_size() === 0)
                return 'closed';
            // nothing is owed on a payload connection: bounded, and otherwise ignored
            extra += bytes.get_size();
            if (extra > 64 * 1024)
                throw new PayloadError('the device sent data back on the payload connection');
        }
    } catch (e) {
        if (acknowledged)
            return 'acknowledged';
        if (timedOut)
            throw new PayloadError(`the device did not take the last bytes within ${CONFIRM_TIMEOUT_MS / 1000} s`);
        if (e instanceof PayloadError)
            throw e;
        if (isUncleanEof(e))
            return 'closed';
        if (isCancelled(e))
            throw e;
        throw new PayloadError(`the device dropped the connection before confirming the file: ${errorMessage(e)}`);
    } finally {
        if (!acknowledged && !timedOut)
            GLib.source_remove(timer);
        release();
    }
}

/** Refuses a payload the way peers expect: connect and close at once. */
export async function refusePayload(address: Gio.InetAddress, port: number): Promise<void> {
    try {
        const client = new Gio.SocketClient({enable_proxy: false, timeout: 5});
        const conn = await client.connect_async(new Gio.InetSocketAddress({address, port}), null);
        await closeStream(conn);
    } catch {
        // the sender gave up already: nothing to refuse
    }
}
