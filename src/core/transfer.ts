// One batch of files on its way in or out, as the faces see it (TransferInfo).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Device} from './device.js';

export type TransferState = 'active' | 'done' | 'failed' | 'cancelled';

export interface TransferInfo {
    id: string;
    deviceId: string;
    deviceName: string;
    direction: 'in' | 'out';
    state: TransferState;
    /** Received: final paths; sent: the local paths. */
    files: string[];
    /** Name of the file being moved now. */
    current: string;
    fileIndex: number;
    numberOfFiles: number;
    /** Files confirmed so far: received and in place, or (sending) taken by the device. */
    delivered: number;
    bytes: number;
    totalBytes: number;
    error: string;
}

/** What a transfer reports to: the share service. */
export interface TransferOwner {
    emit(event: 'transfer', info: TransferInfo): void;
    /** Called once, when the transfer ends. */
    forget(t: Transfer): void;
}

const UPDATE_INTERVAL_MS = 250;

export class Transfer {
    readonly info: TransferInfo;
    readonly cancellable = new Gio.Cancellable();
    private lastEmit = 0;
    /** The timer that sends the last throttled update (0: none). */
    private trailing = 0;

    constructor(private readonly owner: TransferOwner, device: Device, direction: 'in' | 'out',
        numberOfFiles: number, totalBytes: number) {
        this.info = {id: (GLib.uuid_string_random() ?? '').replace(/-/g, '').slice(0, 16), deviceId: device.id,
            deviceName: device.name, direction, state: 'active', files: [], current: '', fileIndex: 0,
            numberOfFiles, delivered: 0, bytes: 0, totalBytes, error: ''};
    }

    /**
     * Throttled to four updates a second, the last one of a burst sent when its quarter second is
     * over (a batch of small files moves on faster than anyone reads); `force` goes out at once.
     */
    update(force = false): void {
        const now = GLib.get_monotonic_time();
        const wait = UPDATE_INTERVAL_MS - (now - this.lastEmit) / 1000;
        if (!force && wait > 0) {
            this.trailing ||= GLib.timeout_add(GLib.PRIORITY_LOW, Math.ceil(wait), () => {
                this.trailing = 0;
                this.update(true);
                return GLib.SOURCE_REMOVE;
            });
            return;
        }
        this.cancelTrailing();
        this.lastEmit = now;
        this.owner.emit('transfer', {...this.info, files: [...this.info.files]});
    }

    cancelTrailing(): void {
        if (this.trailing)
            GLib.source_remove(this.trailing);
        this.trailing = 0;
    }

    end(state: TransferState, error = ''): void {
        if (this.info.state !== 'active')
            return;
        this.cancelTrailing();
        this.info.state = state;
        this.info.error = error;
        this.update(true);
        this.owner.forget(this);
    }
}
