// Everything the extension owns between enable() and disable(): the engine, the share service,
// the D-Bus API, the indicator and the notifications. destroy() undoes all of it.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import type {Extension} from 'resource:///org/gnome/shell/extensions/extension.js';
import {fmt} from '../lib/format.js';
import {gettext as _} from 'resource:///org/gnome/shell/extensions/extension.js';
import * as Main from 'resource:///org/gnome/shell/ui/main.js';
import type {DeviceInfo} from '../core/device.js';
import {BUS_NAME, exportApi} from '../core/dbusApi.js';
import {Engine} from '../core/engine.js';
import type {IdentityChoice} from '../core/identity/types.js';
import {ShareService} from '../core/share.js';
import {errorMessage} from '../net/gio.js';
import {chooseFiles, clipboardText, openFile, openUri, setClipboardText} from './desktop.js';
import {FerryIndicator, MenuModel} from './indicator.js';
import {Note, Notifications, Urgency} from './notify.js';
import {TransferNotes} from './transferNotes.js';

const RECENT_FILES = 5;

export class FerrySession {
    private readonly settings: Gio.Settings;
    private readonly settingsIds: number[] = [];
    private engine: Engine | null = null;
    private share: ShareService | null = null;
    private offEngine: (() => void)[] = [];
    private unexport: (() => void) | null = null;
    private ownerId = 0;
    private readonly indicator: FerryIndicator;
    private readonly notifications = new Notifications('Ferry', 'send-to-symbolic');
    private readonly transferNotes: TransferNotes;
    private readonly pairingNotes = new Map<string, Note>();
    private readonly recent: string[] = [];
    private readonly cancellable = new Gio.Cancellable();
    private renderId = 0;
    private busy = false;
    private restartId = 0;

    constructor(private readonly extension: Extension) {
        this.settings = extension.getSettings();
        this.indicator = new FerryIndicator(extension.dir.get_child('icons').get_child('ferry-symbolic.svg'), {
            sendFiles: d => this.sendFiles(d),
            sendClipboard: d => this.sendClipboard(d),
            pair: d => this.pair(d),
            acceptPair: d => this.pair(d),
            rejectPair: d => this.guard(() => this.engine?.rejectPair(d.id)),
            unpair: d => this.guard(() => this.engine?.unpair(d.id)),
            openFile: path => openFile(path),
            openPreferences: () => this.extension.openPreferences(),
        });
        Main.panel.addToStatusArea(extension.uuid, this.indicator);
        this.transferNotes = new TransferNotes(this.notifications, id => this.share?.cancel(id),
            paths => this.addRecent(paths));
        for (const key of ['identity-source', 'device-name'])
            this.settingsIds.push(this.settings.connect(`changed::${key}`, () => this.scheduleRestart()));
        // a new address applies at once, without a restart
        this.settingsIds.push(this.settings.connect('changed::device-addresses',
            () => this.engine?.setAddressList(this.settings.get_strv('device-addresses'))));
        this.startEngine();
    }

    private startEngine(): void {
        const settings = this.settings;
        const deviceName = settings.get_string('device-name') ?? '';
        const engine = new Engine({
            configDir: GLib.build_filenamev([GLib.get_user_config_dir(), 'ferry']),
            identity: settings.get_string('identity-source') as IdentityChoice,
            hosts: [],
            ...deviceName ? {deviceName} : {},
        });
        engine.setAddressList(settings.get_strv('device-addresses'));
        // read at each transfer, so that a change in the preferences applies to the next file
        const share = new ShareService(engine, {
            get receiveDirectory() {
                return settings.get_string('receive-directory') ?? '';
            },
            get receiveDisabled() {
                return settings.get_strv('receive-disabled-devices');
            },
        });
        this.engine = engine;
        this.share = share;
        this.offEngine = [
            engine.on('log', line => console.debug(`Ferry: ${line}`)),
            share.on('log', line => console.debug(`Ferry: ${line}`)),
            engine.on('state', () => this.scheduleRender()),
            engine.on('deviceChanged', () => this.scheduleRender()),
            engine.on('deviceRemoved', () => this.scheduleRender()),
            engine.on('pairingRequested', (d, key) => this.pairingRequested(d, key)),
            engine.on('pairingFinished', (id, result, message) => this.pairingFinished(id, result, message)),
            share.on('transfer', t => {
                this.transferNotes.update(t);
                // the menu shows activity, not progress: redraw it only when that changes
                const busy = share.list().some(x => x.state === 'active');
                if (busy !== this.busy || t.state !== 'active') {
                    this.busy = busy;
                    this.scheduleRender();
                }
            }),
            share.on('text', (d, text) => this.textReceived(d.name, text)),
            share.on('url', (d, url) => this.urlReceived(d.name, url)),
        ];
        const bus = Gio.DBus.session;
        this.unexport = exportApi(engine, share, bus);
        this.ownerId = Gio.bus_own_name_on_connection(bus, BUS_NAME, Gio.BusNameOwnerFlags.NONE, null,
            () => console.warn(`Ferry: another process owns ${BUS_NAME} (a ferry serve?)`));
        engine.start().catch(e => console.warn(`Ferry: ${errorMessage(e)}`));
        this.scheduleRender();
    }

    private stopEngine(): void {
        for (const off of this.offEngine)
            off();
        this.offEngine = [];
        this.unexport?.();
        this.unexport = null;
        if (this.ownerId)
            Gio.bus_unown_name(this.ownerId);
        this.ownerId = 0;
        // cancels transfers: their partial files are removed
        this.share?.destroy();
        this.engine?.stop();
        this.share = null;
        this.engine = null;
    }

    private scheduleRestart(): void {
        if (this.restartId)
            GLib.source_remove(this.restartId);
        this.restartId = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 500, () => {
            this.restartId = 0;
            this.stopEngine();
            this.startEngine();
            return GLib.SOURCE_REMOVE;
        });
    }

    private scheduleRender(): void {
        if (this.renderId)
            return;
        this.renderId = GLib.idle_add(GLib.PRIORITY_DEFAULT_IDLE, () => {
            this.renderId = 0;
            this.indicator.render(this.model());
            return GLib.SOURCE_REMOVE;
        });
    }

    private model(): MenuModel {
        const engine = this.engine;
        return {
            state: engine?.state ?? 'stopped',
            stateMessage: engine?.stateMessage ?? '',
            devices: engine?.deviceInfos() ?? [],
            recent: [...this.recent],
            busy: this.busy,
        };
    }

    private addRecent(paths: string[]): void {
        for (const p of paths) {
            const i = this.recent.indexOf(p);
            if (i >= 0)
                this.recent.splice(i, 1);
            this.recent.unshift(p);
        }
        this.recent.splice(RECENT_FILES);
        this.scheduleRender();
    }

    private guard(action: () => void): void {
        try {
            action();
        } catch (e) {
            this.notifications.show({title: _('Ferry'), body: errorMessage(e), transient: true});
        }
        this.scheduleRender();
    }

    private pair(d: DeviceInfo): void {
        this.guard(() => {
            const r = this.engine?.pair(d.id);
            if (r && r.state !== 'paired' && r.verificationKey) {
                this.replacePairingNote(d.id, this.notifications.show({
                    title: fmt(_('Pairing with %s'), d.name),
                    body: fmt(_('Check that the device shows the same key: %s'), r.verificationKey),
                    transient: true,
                }));
            }
        });
    }

    private replacePairingNote(id: string, note: Note): void {
        this.pairingNotes.get(id)?.destroy();
        this.pairingNotes.set(id, note);
    }

    private pairingRequested(d: DeviceInfo, key: string): void {
        this.replacePairingNote(d.id, this.notifications.show({
            title: fmt(_('%s wants to pair'), d.name),
            body: fmt(_('Verification key: %s. Accept only if the device shows the same key.'), key),
            urgency: Urgency.CRITICAL,
        }, [
            [_('Accept'), () => this.pair(d)],
            [_('Reject'), () => this.guard(() => this.engine?.rejectPair(d.id))],
        ]));
        this.scheduleRender();
    }

    private pairingFinished(id: string, result: string, message: string): void {
        this.pairingNotes.get(id)?.destroy();
        this.pairingNotes.delete(id);
        const name = this.engine?.deviceInfos().find(d => d.id === id)?.name ?? id;
        if (result === 'paired')
            this.notifications.show({title: fmt(_('Paired with %s'), name),
                body: _('Files and text can now go both ways.'), transient: true});
        else if (result !== 'unpaired')
            this.notifications.show({title: fmt(_('Pairing with %s did not complete'), name), body: message, transient: true});
        this.scheduleRender();
    }

    private textReceived(from: string, text: string): void {
        setClipboardText(text);
        this.notifications.show({
            title: fmt(_('Text from %s copied to the clipboard'), from),
            body: text.length > 300 ? `${text.slice(0, 300)}…` : text,
            transient: true,
        });
    }

    private urlReceived(from: string, url: string): void {
        if (this.settings.get_boolean('open-urls')) {
            openUri(url);
            return;
        }
        const note = this.notifications.show({title: fmt(_('Link from %s'), from), body: url},
            [[_('Open link'), () => openUri(url)]]);
        note.onActivated(() => openUri(url));
    }

    private sendFiles(d: DeviceInfo): void {
        const chooser = this.extension.dir.get_child('chooser.js').get_path() ?? '';
        chooseFiles(chooser, fmt(_('Send files to %s'), d.name), _('Send'), this.cancellable)
            .then(paths => {
                if (paths.length && this.share)
                    return this.share.sendFiles(d.id, paths);
                return null;
            })
            .catch(e => this.notifications.show({title: fmt(_('Sending to %s failed'), d.name),
                body: errorMessage(e), urgency: Urgency.HIGH}));
    }

    private sendClipboard(d: DeviceInfo): void {
        clipboardText().then(text => {
            if (!text)
                throw new Error(_('The clipboard holds no text'));
            return this.share?.sendText(d.id, text).then(() => this.notifications.show({
                title: fmt(_('Clipboard text sent to %s'), d.name), body: '', transient: true}));
        }).catch(e => this.notifications.show({title: fmt(_('Sending to %s failed'), d.name),
            body: errorMessage(e), transient: true}));
    }

    destroy(): void {
        this.cancellable.cancel();
        for (const id of this.settingsIds)
            this.settings.disconnect(id);
        this.settingsIds.length = 0;
        for (const id of [this.renderId, this.restartId]) {
            if (id)
                GLib.source_remove(id);
        }
        this.renderId = this.restartId = 0;
        this.stopEngine();
        this.transferNotes.destroy();
        for (const note of this.pairingNotes.values())
            note.destroy();
        this.pairingNotes.clear();
        this.notifications.destroy();
        this.indicator.destroy();
    }
}
