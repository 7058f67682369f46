// GNOME Shell 46: its JS modules (resource:///org/gnome/shell/…) and the St, Clutter, Gtk and Adw
// typelibs at that shell's versions, for a type-check of the extension's code against them.
// GNOME 46's own Gio typings have no Promise forms of the async methods the engine awaits: this
// check takes GLib 2.82's (package.json overrides) with GNOME 46's St, Clutter and shell modules.
import '@girs/gjs';
import '@girs/gjs/dom';
import '@girs/glib-2.0/ambient';
import '@girs/gobject-2.0/ambient';
import '@girs/gio-2.0/ambient';
import '@girs/gnome-shell/ambient';
import '@girs/gnome-shell/extensions/global';
import '@girs/st-14/ambient';
import '@girs/clutter-14/ambient';
import '@girs/gtk-4.0/ambient';
import '@girs/adw-1/ambient';
