// The GNOME Shell 45 module declarations (resource:///org/gnome/shell/…) and the St, Clutter, Gtk
// and Adw typelibs, typed at their GNOME 45 versions: newer API has to be guarded by hand.
import '@girs/gnome-shell/ambient';
import '@girs/gnome-shell/extensions/global';
import '@girs/st-13/ambient';
import '@girs/clutter-13/ambient';
import '@girs/gtk-4.0/ambient';
import '@girs/adw-1/ambient';
