// Notifications for transfers: live progress for the whole batch with Cancel, then the result.
import GLib from 'gi://GLib';
import {fmt} from '../lib/format.js';
import {gettext as _, ngettext} from 'resource:///org/gnome/shell/extensions/extension.js';
import type {TransferInfo} from '../core/share.js';
import {openFile, showInFiles} from './desktop.js';
import {Note, Notifications, Urgency} from './notify.js';

/** Progress notifications change at most this often. */
const PROGRESS_INTERVAL_MS = 400;

export function progressTitle(t: TransferInfo): string {
    const percent = t.totalBytes > 0 ? Math.floor(t.bytes * 100 / t.totalBytes) : 0;
    if (t.numberOfFiles > 1) {
        const f = t.direction === 'in'
            ? ngettext('Receiving %d file from %s — %d %%', 'Receiving %d files from %s — %d %%', t.numberOfFiles)
            : ngettext('Sending %d file to %s — %d %%', 'Sending %d files to %s — %d %%', t.numberOfFiles);
        return fmt(f, t.numberOfFiles, t.deviceName, percent);
    }
    const f = t.direction === 'in' ? _('Receiving %s from %s — %d %%') : _('Sending %s to %s — %d %%');
    return fmt(f, t.current || _('a file'), t.deviceName, percent);
}

function progressBody(t: TransferInfo): string {
    const done = GLib.format_size(t.bytes);
    const total = GLib.format_size(t.totalBytes);
    if (t.numberOfFiles > 1)
        return fmt(_('%s (file %d of %d) — %s of %s'), t.current, t.fileIndex + 1, t.numberOfFiles, done, total);
    return fmt(_('%s of %s'), done, total);
}

interface Tracked {
    note: Note | null;
    lastUpdate: number;
}

export class TransferNotes {
    private readonly tracked = new Map<string, Tracked>();

    constructor(private readonly notifications: Notifications, private readonly cancel: (id: string) => void,
        private readonly received: (paths: string[]) => void) {}

    update(t: TransferInfo): void {
        let entry = this.tracked.get(t.id);
        if (!entry) {
            entry = {note: null, lastUpdate: 0};
            this.tracked.set(t.id, entry);
        }
        if (t.state === 'active') {
            this.progress(t, entry);
            return;
        }
        entry.note?.destroy();
        this.tracked.delete(t.id);
        this.finished(t);
    }

    private progress(t: TransferInfo, entry: Tracked): void {
        const now = GLib.get_monotonic_time() / 1000;
        if (entry.note?.alive && now - entry.lastUpdate < PROGRESS_INTERVAL_MS)
            return;
        entry.lastUpdate = now;
        if (entry.note?.alive) {
            entry.note.update(progressTitle(t), progressBody(t));
            return;
        }
        if (entry.note) // dismissed by the user: keep quiet until the end
            return;
        entry.note = this.notifications.show({title: progressTitle(t), body: progressBody(t), resident: true,
            urgency: Urgency.LOW}, [[_('Cancel'), () => this.cancel(t.id)]]);
    }

    private finished(t: TransferInfo): void {
        const n = t.files.length;
        if (t.state === 'done' && t.direction === 'in') {
            this.received(t.files);
            if (n === 1) {
                const path = t.files[0];
                const note = this.notifications.show({
                    title: fmt(_('Received %s from %s'), GLib.path_get_basename(path), t.deviceName),
                    body: fmt(_('Saved in %s'), GLib.path_get_dirname(path)),
                }, [[_('Open'), () => openFile(path)], [_('Show in Files'), () => showInFiles([path])]]);
                note.onActivated(() => openFile(path));
            } else {
                const note = this.notifications.show({
                    title: fmt(ngettext('Received %d file from %s', 'Received %d files from %s', n), n, t.deviceName),
                    body: t.files.map(f => GLib.path_get_basename(f)).join(', '),
                }, [[_('Show in Files'), () => showInFiles(t.files)]]);
                note.onActivated(() => showInFiles(t.files));
            }
        } else if (t.state === 'done') {
            this.notifications.show({
                title: fmt(ngettext('Sent %d file to %s', 'Sent %d files to %s', t.numberOfFiles), t.numberOfFiles, t.deviceName),
                body: t.files.map(f => GLib.path_get_basename(f)).join(', '), transient: true,
            });
        } else if (t.state === 'cancelled') {
            this.notifications.show({
                title: t.direction === 'in' ? fmt(_('Receiving from %s cancelled'), t.deviceName)
                    : fmt(_('Sending to %s cancelled'), t.deviceName),
                body: n ? fmt(ngettext('%d file arrived before that.', '%d files arrived before that.', n), n) : '',
                transient: true,
            });
            if (t.direction === 'in' && n)
                this.received(t.files);
        } else {
            this.notifications.show({
                title: t.direction === 'in' ? fmt(_('Receiving from %s failed'), t.deviceName)
                    : fmt(_('Sending to %s failed'), t.deviceName),
                body: t.error,
                urgency: Urgency.HIGH,
            });
            if (t.direction === 'in' && n)
                this.received(t.files);
        }
    }

    destroy(): void {
        for (const entry of this.tracked.values())
            entry.note?.destroy();
        this.tracked.clear();
    }
}
