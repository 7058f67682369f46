// Promise forms of the Gio async methods Ferry uses, and small helpers around them.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import GObject from 'gi://GObject';

let promisified = false;
/** Adds Promise-returning forms of the async methods; idempotent, called when the engine starts. */
export function promisifyGio(): void {
    if (promisified)
        return;
    promisified = true;
    const pairs: [object, string[]][] = [
        [Gio.InputStream.prototype, ['read_bytes_async', 'close_async']],
        [Gio.OutputStream.prototype, ['write_bytes_async', 'close_async', 'flush_async', 'splice_async']],
        [Gio.SocketClient.prototype, ['connect_async']],
        [Gio.Subprocess.prototype, ['communicate_utf8_async', 'wait_check_async', 'wait_async']],
        [Gio.File.prototype, ['load_contents_async', 'make_directory_async',
            'query_info_async', 'delete_async', 'move_async', 'set_attributes_async', 'create_async',
            'enumerate_children_async', 'read_async', 'query_filesystem_info_async']],
        [Gio.DBusConnection.prototype, ['call']],
    ];
    for (const [proto, names] of pairs) {
        for (const name of names)
            Gio._promisify(proto, name);
    }
}

/** Runs a Gio async/finish pair as a Promise (for methods whose typings lack a Promise overload). */
export function callAsync<T>(start: (callback: (source: unknown, result: Gio.AsyncResult) => void) => void,
    finish: (result: Gio.AsyncResult) => T): Promise<T> {
    return new Promise((resolve, reject) => {
        start((_source, result) => {
            try {
                resolve(finish(result));
            } catch (e) {
                reject(e);
            }
        });
    });
}

// The per-file calls of the payload path, as promises. gjs's Gio._promisify makes a JS Error and
// reads its stack (a string of every frame, async ones too) on every call, for error reports:
// 15–20 such calls a file cost the main thread measurably (docs/benchmarks.md, "Many files,
// 2026-12-05"). These call the async method with a callback, as gjs does without the promise.

export function readBytes(stream: Gio.InputStream, count: number, priority: number, c: Gio.Cancellable | null): Promise<GLib.Bytes> {
    return callAsync(cb => stream.read_bytes_async(count, priority, c, cb), r => stream.read_bytes_finish(r));
}

export function writeBytes(stream: Gio.OutputStream, bytes: GLib.Bytes, priority: number, c: Gio.Cancellable | null): Promise<number> {
    return callAsync(cb => stream.write_bytes_async(bytes, priority, c, cb), r => stream.write_bytes_finish(r));
}

export function closeOutput(stream: Gio.OutputStream, priority: number, c: Gio.Cancellable | null): Promise<boolean> {
    return callAsync(cb => stream.close_async(priority, c, cb), r => stream.close_finish(r));
}

export function spliceFrom(out: Gio.OutputStream, input: Gio.InputStream, flags: Gio.OutputStreamSpliceFlags, priority: number,
    c: Gio.Cancellable | null): Promise<number> {
    return callAsync(cb => out.splice_async(input, flags, priority, c, cb), r => out.splice_finish(r));
}

export function createFile(file: Gio.File, flags: Gio.FileCreateFlags, priority: number, c: Gio.Cancellable | null):
    Promise<Gio.FileOutputStream> {
    return callAsync(cb => file.create_async(flags, priority, c, cb), r => file.create_finish(r));
}

export function openFile(file: Gio.File, priority: number, c: Gio.Cancellable | null): Promise<Gio.FileInputStream> {
    return callAsync(cb => file.read_async(priority, c, cb), r => file.read_finish(r));
}

export function moveFile(file: Gio.File, target: Gio.File, flags: Gio.FileCopyFlags, priority: number, c: Gio.Cancellable | null):
    Promise<boolean> {
    return callAsync(cb => file.move_async(target, flags, priority, c, null, cb), r => file.move_finish(r));
}

export function setFileAttributes(file: Gio.File, info: Gio.FileInfo, flags: Gio.FileQueryInfoFlags, priority: number,
    c: Gio.Cancellable | null): Promise<void> {
    return callAsync(cb => file.set_attributes_async(info, flags, priority, c, cb), r => {
        file.set_attributes_finish(r);
    });
}

/**
 * A TCP connection to `address`:`port`, with `timeoutS` on the socket as GSocketClient's
 * `timeout` sets it (for the connect and every blocking operation after). Straight through
 * GSocketConnection: GSocketClient's enumerator, proxy check and events cost a payload fetch
 * several main-loop turns.
 */
export async function connectTcp(address: Gio.InetAddress, port: number, timeoutS: number,
    cancellable: Gio.Cancellable | null): Promise<Gio.SocketConnection> {
    const socket = Gio.Socket.new(address.get_family(), Gio.SocketType.STREAM, Gio.SocketProtocol.TCP);
    socket.set_timeout(timeoutS);
    const conn = socket.connection_factory_create_connection();
    try {
        await callAsync(cb => conn.connect_async(new Gio.InetSocketAddress({address, port}), cancellable, cb),
            res => conn.connect_finish(res));
    } catch (e) {
        socket.close();
        throw e;
    }
    return conn;
}

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export function isCancelled(e: unknown): boolean {
    return e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED);
}

export function errorMessage(e: unknown): string {
    if (e instanceof GLib.Error || e instanceof Error)
        return e.message ?? String(e);
    return String(e);
}

/** Writes all of `data` with write_bytes_async (GLib.Bytes: write_all_async corrupts JS arrays in gjs 1.74). */
export function writeAll(out: Gio.OutputStream, data: Uint8Array, cancellable: Gio.Cancellable | null,
    priority = GLib.PRIORITY_DEFAULT): Promise<void> {
    return writeAllBytes(out, new GLib.Bytes(data), cancellable, priority);
}

/** Writes all of `bytes`, however many writes it takes; the bytes never pass through JS. */
export async function writeAllBytes(out: Gio.OutputStream, bytes: GLib.Bytes, cancellable: Gio.Cancellable | null,
    priority = GLib.PRIORITY_DEFAULT): Promise<void> {
    const size = bytes.get_size();
    for (let written = 0; written < size;) {
        const n = await writeBytes(out, written === 0 ? bytes : sliceBytes(bytes, written, size - written), priority, cancellable);
        if (n <= 0)
            throw new Error('the connection accepted no more data');
        written += n;
    }
}

/** What the GLib of Debian forky and sid (2.90; trixie's 2.84 still has the method) introspects g_bytes_new_from_bytes as: a constructor. */
type BytesConstructor = {new_from_bytes?: (bytes: GLib.Bytes, offset: number, length: number) => GLib.Bytes};

/** `length` bytes of `bytes` from `offset`, sharing its memory (on every GLib: see BytesConstructor). */
export function sliceBytes(bytes: GLib.Bytes, offset: number, length: number): GLib.Bytes {
    const newer = (GLib.Bytes as unknown as BytesConstructor).new_from_bytes;
    return newer ? newer(bytes, offset, length) : bytes.new_from_bytes(offset, length);
}

/** Cancels `cancellable` after `ms` unless the returned disarm function is called first. */
export function cancelAfter(cancellable: Gio.Cancellable, ms: number): () => void {
    let id: number | null = GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        id = null;
        cancellable.cancel();
        return GLib.SOURCE_REMOVE;
    });
    return () => {
        if (id !== null)
            GLib.source_remove(id);
        id = null;
    };
}

/** A cancellable that follows `parent` (if any) and can also be cancelled on its own; `release` lets go of `parent` (once, however often it is called). */
export function childCancellable(parent: Gio.Cancellable | null): {cancellable: Gio.Cancellable; release: () => void} {
    const cancellable = new Gio.Cancellable();
    if (!parent)
        return {cancellable, release: () => undefined};
    let id = parent.connect(() => cancellable.cancel());
    // idempotent: a second disconnect of the same handler is a GLib warning in the journal
    return {cancellable, release: () => {
        if (id)
            parent.disconnect(id);
        id = 0;
    }};
}

/** The error GIO gives a cancelled operation. */
export function cancelledError(): GLib.Error {
    return GLib.Error.new_literal(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED, 'Operation was cancelled');
}

export function delay(ms: number, cancellable: Gio.Cancellable | null = null): Promise<void> {
    return new Promise((resolve, reject) => {
        let handler = 0;
        const id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            if (handler)
                cancellable?.disconnect(handler);
            resolve();
            return GLib.SOURCE_REMOVE;
        });
        if (cancellable) {
            handler = cancellable.connect(() => {
                GLib.source_remove(id);
                reject(cancelledError());
            });
        }
    });
}

/**
 * Holds a C-side strong reference to each of `objects` until the returned function is called.
 * A threaded splice over a TLS stream takes and drops a reference to the TLS connection for
 * every record (glib-networking's streams reach it through a weak reference). Were the JS
 * wrapper's toggle reference the only other one, each record would flip the wrapper between
 * strong and weak, and gjs hands every flip made off the main thread to the main thread under
 * a spin lock: thousands a second, measured as ~16 % of GNOME Shell's main thread at 90 MB/s.
 * One more reference keeps the count from ever reaching the toggle.
 */
export function holdReferences(objects: GObject.Object[]): () => void {
    const holder = new Gio.ListStore({item_type: GObject.Object.$gtype});
    for (const o of objects)
        holder.append(o);
    return () => holder.remove_all();
}

/** Stores that live as long as the module, so that nothing collects them (see holdForLife). */
const heldForLife: Gio.ListStore[] = [];

/**
 * As holdReferences, for the rest of the process. The store holding the references is kept
 * here: a store whose release function is dropped is garbage, and its finalization drops the
 * references again (the first version of this discarded the function; `ferry send` still
 * aborted at exit after a 30 s wait, long enough for a collection).
 */
export function holdForLife(objects: GObject.Object[]): void {
    const holder = new Gio.ListStore({item_type: GObject.Object.$gtype});
    for (const o of objects)
        holder.append(o);
    heldForLife.push(holder);
}

const IPPROTO_TCP = 6, TCP_NODELAY = 1;

/**
 * Turns off Nagle's algorithm on a TCP connection. A TLS handshake is a few small writes each
 * way; with Nagle a write waits for the acknowledgement of the one before, and the peer delays
 * that acknowledgement by up to 40 ms: measured, 40 ms of every small file's 57 ms.
 */
export function setNoDelay(conn: Gio.SocketConnection): void {
    try {
        conn.get_socket().set_option(IPPROTO_TCP, TCP_NODELAY, 1);
    } catch {
        // not TCP (a test's Unix socket): nothing to turn off
    }
}
