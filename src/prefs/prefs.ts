// Ferry's preferences (Adwaita): receive folder, identity, device name, links, and which paired
// devices may send files. Devices come from the running engine over its D-Bus API.
import Adw from 'gi://Adw';
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import {fmt} from '../lib/format.js';
import {ExtensionPreferences, gettext as _} from 'resource:///org/gnome/Shell/Extensions/js/extensions/prefs.js';

Gio._promisify(Gtk.FileDialog.prototype, 'select_folder', 'select_folder_finish');

const BUS_NAME = 'org.gnome.Shell.Extensions.Ferry';
const OBJECT_PATH = '/org/gnome/Shell/Extensions/Ferry';
const IDENTITY_SOURCES = ['auto', 'gsconnect', 'ferry'];

interface DeviceSummary {
    id: string;
    name: string;
    paired: boolean;
}

function listDevices(): Promise<DeviceSummary[]> {
    return new Promise(resolve => {
        Gio.DBus.session.call(BUS_NAME, OBJECT_PATH, BUS_NAME, 'ListDevices', null, new GLib.VariantType('(aa{sv})'),
            Gio.DBusCallFlags.NO_AUTO_START, 5000, null, (conn, res) => {
                try {
                    const [devices] = conn!.call_finish(res).recursiveUnpack() as [DeviceSummary[]];
                    resolve(devices.filter(d => d.paired));
                } catch {
                    resolve([]);
                }
            });
    });
}

/** Devices by address: for networks where neither broadcasts nor multicast DNS pass. */
function addressGroup(settings: Gio.Settings): Adw.PreferencesGroup {
    const group = new Adw.PreferencesGroup({title: _('Devices by address'),
        description: _('Ferry announces itself to these directly. For networks that hide devices from each other.')});
    const entry = new Adw.EntryRow({title: _('Add a device by address… (host name or IP address)'), show_apply_button: true});
    const rows: Adw.ActionRow[] = [];
    const show = () => {
        for (const row of rows.splice(0))
            group.remove(row);
        for (const address of settings.get_strv('device-addresses')) {
            const row = new Adw.ActionRow({title: address});
            const remove = new Gtk.Button({icon_name: 'user-trash-symbolic', valign: Gtk.Align.CENTER,
                tooltip_text: _('Remove'), css_classes: ['flat']});
            remove.connect('clicked', () => settings.set_strv('device-addresses',
                settings.get_strv('device-addresses').filter(a => a !== address)));
            row.add_suffix(remove);
            group.add(row);
            rows.push(row);
        }
    };
    entry.connect('apply', () => {
        const address = (entry.text ?? '').trim();
        // a host name or an IPv4 address: letters, digits, dots and dashes
        if (!/^[A-Za-z0-9.-]{1,253}$/.test(address))
            return;
        const list = settings.get_strv('device-addresses');
        if (!list.includes(address))
            settings.set_strv('device-addresses', [...list, address]);
        entry.text = '';
    });
    group.add(entry);
    settings.connect('changed::device-addresses', show);
    show();
    return group;
}

export default class FerryPreferences extends ExtensionPreferences {
    override fillPreferencesWindow(window: Adw.PreferencesWindow): Promise<void> {
        const settings = this.getSettings();
        const page = new Adw.PreferencesPage({title: _('Ferry'), icon_name: 'send-to-symbolic'});
        window.add(page);

        const receiving = new Adw.PreferencesGroup({title: _('Receiving')});
        page.add(receiving);
        const folder = new Adw.ActionRow({title: _('Receive folder')});
        const showFolder = () => {
            folder.subtitle = settings.get_string('receive-directory') ||
                fmt(_('Downloads (%s)'), GLib.get_user_special_dir(GLib.UserDirectory.DIRECTORY_DOWNLOAD) ?? '~/Downloads');
        };
        showFolder();
        settings.connect('changed::receive-directory', showFolder);
        const choose = new Gtk.Button({label: _('Choose…'), valign: Gtk.Align.CENTER});
        choose.connect('clicked', () => {
            const dialog = new Gtk.FileDialog({title: _('Receive folder'), modal: true});
            // promisified above; the GTK 4.12 typings know neither the callback nor the promise
            const selectFolder = dialog.select_folder as unknown as (p: Gtk.Window | null, c: Gio.Cancellable | null) => Promise<Gio.File | null>;
            selectFolder.call(dialog, window, null).then(file => {
                const path = file?.get_path();
                if (path)
                    settings.set_string('receive-directory', path);
            }).catch(() => undefined); // dismissed
        });
        const reset = new Gtk.Button({icon_name: 'edit-undo-symbolic', valign: Gtk.Align.CENTER,
            tooltip_text: _('Use the Downloads folder')});
        reset.connect('clicked', () => settings.reset('receive-directory'));
        folder.add_suffix(choose);
        folder.add_suffix(reset);
        receiving.add(folder);

        const urls = new Adw.SwitchRow({title: _('Open received links automatically'),
            subtitle: _('Otherwise a notification offers to open them')});
        settings.bind('open-urls', urls, 'active', Gio.SettingsBindFlags.DEFAULT);
        receiving.add(urls);

        const identity = new Adw.PreferencesGroup({title: _('This computer'),
            description: _('Changes restart Ferry’s connections.')});
        page.add(identity);
        const source = new Adw.ComboRow({title: _('KDE Connect identity'),
            model: Gtk.StringList.new([_('Automatic (GSConnect’s when it exists)'), _('GSConnect’s'), _('Ferry’s own')])});
        source.selected = Math.max(0, IDENTITY_SOURCES.indexOf(settings.get_string('identity-source') ?? 'auto'));
        source.connect('notify::selected', () => settings.set_string('identity-source', IDENTITY_SOURCES[source.selected] ?? 'auto'));
        identity.add(source);
        const name = new Adw.EntryRow({title: _('Device name (Ferry’s own identity; empty: the host name)'),
            show_apply_button: true, text: settings.get_string('device-name') ?? ''});
        name.connect('apply', () => settings.set_string('device-name', (name.text ?? '').trim()));
        identity.add(name);

        page.add(addressGroup(settings));

        const devices = new Adw.PreferencesGroup({title: _('Paired devices'),
            description: _('Files from a switched-off device are refused.')});
        page.add(devices);
        return listDevices().then(list => {
            if (!list.length) {
                devices.add(new Adw.ActionRow({title: _('No paired devices, or Ferry is not running')}));
                return;
            }
            for (const d of list) {
                const row = new Adw.SwitchRow({title: d.name, subtitle: _('Accept files')});
                row.active = !settings.get_strv('receive-disabled-devices').includes(d.id);
                row.connect('notify::active', () => {
                    const off = settings.get_strv('receive-disabled-devices').filter(id => id !== d.id);
                    if (!row.active)
                        off.push(d.id);
                    settings.set_strv('receive-disabled-devices', off);
                });
                devices.add(row);
            }
        });
    }
}
