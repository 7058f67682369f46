// GNOME Shell 48: its JS modules (resource:///org/gnome/shell/…) and the St, Clutter, Gtk and Adw
// typelibs at that shell's versions, for a type-check of the extension's code against them.
import '@girs/gjs';
import '@girs/gjs/dom';
import '@girs/glib-2.0/ambient';
import '@girs/gobject-2.0/ambient';
import '@girs/gio-2.0/ambient';
import '@girs/gnome-shell/ambient';
import '@girs/gnome-shell/extensions/global';
import '@girs/st-16/ambient';
import '@girs/clutter-16/ambient';
import '@girs/gtk-4.0/ambient';
import '@girs/adw-1/ambient';
