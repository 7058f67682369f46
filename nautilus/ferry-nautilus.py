# Ferry for Nautilus (43 and later, nautilus-python 4): "Send to <device>" for selected local files.
# Nautilus 49 and later load the Nautilus 4.1 typelib (same MenuProvider API), older ones 4.0.
# It talks to the Ferry engine (the GNOME Shell extension or `ferry serve`) over D-Bus,
# asynchronously: the device list is cached and kept current from the engine's signals, so
# building a menu never waits; nothing is offered while Ferry is not running.
# Install: ~/.local/share/nautilus-python/extensions/ (needs Debian's python3-nautilus).
import gettext
import os

import gi

# nautilus-python has loaded the typelib already; asking for another version is an error
for _version in ('4.1', '4.0'):
    try:
        gi.require_version('Nautilus', _version)
        break
    except ValueError:
        continue
from gi.repository import Gio, GLib, GObject, Nautilus  # noqa: E402

BUS_NAME = 'org.gnome.Shell.Extensions.Ferry'
OBJECT_PATH = '/org/gnome/Shell/Extensions/Ferry'
INTERFACE = 'org.gnome.Shell.Extensions.Ferry'

# the translations travel with the GNOME Shell extension
LOCALE_DIR = os.path.join(GLib.get_user_data_dir(), 'gnome-shell', 'extensions', 'ferry@ferry-kdeconnect.github.io', 'locale')
_ = gettext.translation('ferry', localedir=LOCALE_DIR, fallback=True).gettext


class FerryDevices:
    """The engine's paired, reachable devices, followed over D-Bus without blocking."""

    def __init__(self):
        self.devices = {}  # id -> name
        self.connection = None
        self.subscriptions = []
        self.watch = Gio.bus_watch_name(Gio.BusType.SESSION, BUS_NAME, Gio.BusNameWatcherFlags.NONE,
                                        self._appeared, self._vanished)

    def _appeared(self, connection, _name, _owner):
        self.connection = connection
        for signal, handler in (('DeviceChanged', self._changed), ('DeviceRemoved', self._removed)):
            self.subscriptions.append(connection.signal_subscribe(
                BUS_NAME, INTERFACE, signal, OBJECT_PATH, None, Gio.DBusSignalFlags.NONE, handler))
        connection.call(BUS_NAME, OBJECT_PATH, INTERFACE, 'ListDevices', None, GLib.VariantType('(aa{sv})'),
                        Gio.DBusCallFlags.NO_AUTO_START, 5000, None, self._listed)

    def _vanished(self, connection, _name):
        if connection is not None:
            for s in self.subscriptions:
                connection.signal_unsubscribe(s)
        self.subscriptions = []
        self.connection = None
        self.devices = {}

    def _listed(self, connection, result):
        try:
            (devices,) = connection.call_finish(result).unpack()
        except GLib.Error as e:
            print('ferry-nautilus: cannot list the devices: %s' % e.message)
            return
        for d in devices:
            self._update(d)

    def _update(self, d):
        if d.get('paired') and d.get('reachable'):
            self.devices[d['id']] = d.get('name', d['id'])
        else:
            self.devices.pop(d.get('id'), None)

    def _changed(self, _c, _sender, _path, _iface, _signal, params):
        (device,) = params.unpack()
        self._update(device)

    def _removed(self, _c, _sender, _path, _iface, _signal, params):
        (device_id,) = params.unpack()
        self.devices.pop(device_id, None)

    def send(self, device_id, uris):
        if self.connection is None:
            return
        self.connection.call(BUS_NAME, OBJECT_PATH, INTERFACE, 'SendFiles', GLib.Variant('(sas)', (device_id, uris)),
                             GLib.VariantType('(s)'), Gio.DBusCallFlags.NO_AUTO_START, -1, None, self._sent)

    @staticmethod
    def _sent(connection, result):
        try:
            connection.call_finish(result)
        except GLib.Error as e:
            # the engine reports failures itself (a notification in the shell); keep a trace
            print('ferry-nautilus: sending failed: %s' % e.message)


class FerryMenuProvider(GObject.GObject, Nautilus.MenuProvider):
    def __init__(self):
        super().__init__()
        self.ferry = FerryDevices()

    def get_file_items(self, files):
        if not files or not self.ferry.devices:
            return []
        if any(f.get_uri_scheme() != 'file' or f.is_directory() for f in files):
            return []
        uris = [f.get_uri() for f in files]
        devices = sorted(self.ferry.devices.items(), key=lambda d: d[1].lower())

        def item(name, label, device_id):
            entry = Nautilus.MenuItem(name=name, label=label)
            entry.connect('activate', lambda _item: self.ferry.send(device_id, uris))
            return entry

        if len(devices) == 1:
            device_id, device_name = devices[0]
            return [item('Ferry::SendTo', _('Send to %s') % device_name, device_id)]
        top = Nautilus.MenuItem(name='Ferry::SendToDevice', label=_('Send to Device'))
        submenu = Nautilus.Menu()
        top.set_submenu(submenu)
        for device_id, device_name in devices:
            submenu.append_item(item('Ferry::SendTo::' + device_id, device_name, device_id))
        return [top]
