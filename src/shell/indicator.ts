// The top-bar button and its menu. It only renders a model and forwards the user's choices.
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import St from 'gi://St';
import {fmt} from '../lib/format.js';
import {gettext as _} from 'resource:///org/gnome/shell/extensions/extension.js';
import * as PanelMenu from 'resource:///org/gnome/shell/ui/panelMenu.js';
import * as PopupMenu from 'resource:///org/gnome/shell/ui/popupMenu.js';
import type {DeviceInfo} from '../core/device.js';
import type {EngineState} from '../core/engine.js';

export interface MenuModel {
    state: EngineState;
    stateMessage: string;
    devices: DeviceInfo[];
    /** Paths of recently received files, newest first. */
    recent: string[];
    busy: boolean;
}

export interface MenuActions {
    sendFiles(device: DeviceInfo): void;
    sendClipboard(device: DeviceInfo): void;
    pair(device: DeviceInfo): void;
    acceptPair(device: DeviceInfo): void;
    rejectPair(device: DeviceInfo): void;
    unpair(device: DeviceInfo): void;
    openFile(path: string): void;
    openPreferences(): void;
}

const TYPE_ICONS: Record<string, string> = {
    phone: 'phone-symbolic', tablet: 'tablet-symbolic', laptop: 'computer-symbolic',
    desktop: 'computer-symbolic', tv: 'tv-symbolic',
};

export function deviceStateText(d: DeviceInfo): string {
    if (d.pairState === 'requestedByPeer')
        return _('wants to pair');
    if (d.pairState === 'requested')
        return _('pairing…');
    if (d.paired)
        return d.reachable ? _('connected') : _('paired, unreachable');
    return d.reachable ? _('available') : _('unreachable');
}

export class FerryIndicator extends PanelMenu.Button {
    static {
        // the shells' types disagree on what registerClass takes from a PanelMenu.Button subclass
        (GObject.registerClass as (klass: object) => unknown)(this);
    }

    private icon!: St.Icon;
    private idleIcon!: Gio.Icon;
    private busyIcon!: Gio.Icon;
    private menuActions!: MenuActions;

    constructor(iconFile: Gio.File, actions: MenuActions) {
        super(0.5, 'Ferry', false);
        this.menuActions = actions;
        this.idleIcon = new Gio.FileIcon({file: iconFile});
        this.busyIcon = new Gio.ThemedIcon({name: 'network-transmit-receive-symbolic'});
        this.icon = new St.Icon({gicon: this.idleIcon, style_class: 'system-status-icon'});
        this.add_child(this.icon);
    }

    render(model: MenuModel): void {
        this.icon.gicon = model.busy ? this.busyIcon : this.idleIcon;
        const menu = this.menu as PopupMenu.PopupMenu;
        menu.removeAll();
        if (model.state === 'deferred') {
            this.addNote(menu, _('GSConnect is running and uses this computer’s KDE Connect identity. ' +
                'Ferry stands aside until it stops.'));
        } else if (model.state === 'failed') {
            this.addNote(menu, fmt(_('Ferry could not start: %s'), model.stateMessage));
        } else {
            this.addDevices(menu, model.devices);
        }
        if (model.recent.length) {
            menu.addMenuItem(new PopupMenu.PopupSeparatorMenuItem(_('Recently received')));
            for (const path of model.recent) {
                const item = new PopupMenu.PopupMenuItem(GLib.path_get_basename(path));
                item.connect('activate', () => this.menuActions.openFile(path));
                menu.addMenuItem(item);
            }
        }
        menu.addMenuItem(new PopupMenu.PopupSeparatorMenuItem());
        const prefs = new PopupMenu.PopupMenuItem(_('Preferences'));
        prefs.connect('activate', () => this.menuActions.openPreferences());
        menu.addMenuItem(prefs);
    }

    private addNote(menu: PopupMenu.PopupMenu, text: string): void {
        const item = new PopupMenu.PopupMenuItem(text, {reactive: false, can_focus: false});
        item.label.clutter_text.line_wrap = true;
        item.label.style = 'max-width: 22em;';
        menu.addMenuItem(item);
    }

    private addDevices(menu: PopupMenu.PopupMenu, devices: DeviceInfo[]): void {
        if (!devices.length) {
            this.addNote(menu, _('No devices yet. Open KDE Connect on your phone on the same network.'));
            // where the network hides devices from each other, the user can name one
            const byAddress = new PopupMenu.PopupMenuItem(_('Add a device by address…'));
            byAddress.connect('activate', () => this.menuActions.openPreferences());
            menu.addMenuItem(byAddress);
            return;
        }
        const sorted = [...devices].sort((a, b) => Number(b.paired) - Number(a.paired) ||
            Number(b.reachable) - Number(a.reachable) || a.name.localeCompare(b.name));
        for (const d of sorted) {
            const item = new PopupMenu.PopupSubMenuMenuItem(`${d.name} — ${deviceStateText(d)}`, true);
            const icon = (item as unknown as {icon: St.Icon}).icon;
            icon.icon_name = TYPE_ICONS[d.type] ?? 'computer-symbolic';
            const sub = item.menu;
            const add = (label: string, action: () => void, sensitive = true) => {
                const entry = new PopupMenu.PopupMenuItem(label);
                entry.setSensitive(sensitive);
                entry.connect('activate', action);
                sub.addMenuItem(entry);
            };
            const ready = d.paired && d.reachable;
            if (d.paired) {
                add(_('Send files…'), () => this.menuActions.sendFiles(d), ready);
                add(_('Send clipboard text'), () => this.menuActions.sendClipboard(d), ready);
                add(_('Unpair'), () => this.menuActions.unpair(d));
            } else if (d.pairState === 'requestedByPeer') {
                add(fmt(_('Accept pairing (key %s)'), d.verificationKey), () => this.menuActions.acceptPair(d));
                add(_('Reject pairing'), () => this.menuActions.rejectPair(d));
            } else if (d.pairState === 'requested') {
                add(fmt(_('Waiting for the device (key %s)'), d.verificationKey), () => undefined, false);
            } else {
                add(_('Pair'), () => this.menuActions.pair(d), d.reachable);
            }
            menu.addMenuItem(item);
        }
    }
}
