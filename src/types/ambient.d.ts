// Pulls the GJS globals and the gi:// module declarations into every compilation unit.
import '@girs/gjs';
import '@girs/gjs/dom';
import '@girs/glib-2.0/ambient';
import '@girs/gobject-2.0/ambient';
import '@girs/gio-2.0/ambient';
