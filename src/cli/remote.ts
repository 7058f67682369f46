// Talking to a running engine (the shell extension or `ferry serve`) over its D-Bus API.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {BUS_NAME, INTERFACE_NAME, OBJECT_PATH} from '../core/dbusApi.js';
import {callAsync, holdForLife} from '../net/gio.js';

export class RemoteEngine {
    constructor(private readonly connection: Gio.DBusConnection) {}

    /** The running engine on the session bus, or null when none runs (or there is no bus). */
    static async find(): Promise<RemoteEngine | null> {
        let connection: Gio.DBusConnection;
        try {
            connection = Gio.bus_get_sync(Gio.BusType.SESSION, null);
        } catch {
            return null;
        }
        // GDBus's worker thread takes and drops references to the connection for every message;
        // with the JS wrapper's toggle reference the only other one, each flip is queued for the
        // main thread, and gjs 1.74 aborts at exit when one is still queued ("Queue should have
        // been emptied before shutting down", seen once after `ferry send` of 200 files). One
        // more reference, held for the life of the process, keeps the count off the toggle.
        holdForLife([connection]);
        const reply = await callAsync(cb => connection.call('org.freedesktop.DBus', '/org/freedesktop/DBus',
            'org.freedesktop.DBus', 'NameHasOwner', new GLib.Variant('(s)', [BUS_NAME]), new GLib.VariantType('(b)'),
            Gio.DBusCallFlags.NONE, 5000, null, cb), res => connection.call_finish(res));
        const [owned] = reply.deepUnpack() as [boolean];
        return owned ? new RemoteEngine(connection) : null;
    }

    async call(method: string, params: GLib.Variant | null = null, timeoutMs = 10000): Promise<unknown[]> {
        try {
            const conn = this.connection;
            const reply = await callAsync(cb => conn.call(BUS_NAME, OBJECT_PATH, INTERFACE_NAME, method, params, null,
                Gio.DBusCallFlags.NO_AUTO_START, timeoutMs, null, cb), res => conn.call_finish(res));
            return reply.recursiveUnpack() as unknown[];
        } catch (e) {
            if (e instanceof GLib.Error)
                // gjs types miss this static; it removes the "GDBus.Error:name:" prefix from messages
                (Gio.DBusError as unknown as {strip_remote_error(e: GLib.Error): void}).strip_remote_error(e);
            throw e;
        }
    }

    /** Calls `handler` with the unpacked arguments of each `signal`; returns the unsubscribe function. */
    subscribe(signal: string, handler: (args: unknown[]) => void): () => void {
        const id = this.connection.signal_subscribe(BUS_NAME, INTERFACE_NAME, signal, OBJECT_PATH, null,
            Gio.DBusSignalFlags.NONE, (_c, _s, _p, _i, _n, params) => handler(params.recursiveUnpack() as unknown[]));
        return () => this.connection.signal_unsubscribe(id);
    }
}
