// The "Send files…" dialog. GNOME Shell cannot show GTK windows, so the extension runs this small
// GTK 4 program (`gjs -m chooser.js --title TITLE --accept LABEL`); it prints one file:// URI per chosen file on
// standard output and exits 0, or exits 0 with nothing printed when the user cancels.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import {programArgs} from 'system';

const argv = programArgs as string[];
const option = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] ?? '' : '';
};
const title = option('--title');
const acceptLabel = option('--accept') || 'Send';

Gio._promisify(Gtk.FileDialog.prototype, 'open_multiple', 'open_multiple_finish');

const app = new Gtk.Application({
    application_id: 'io.github.ferry_kdeconnect.Chooser',
    flags: Gio.ApplicationFlags.NON_UNIQUE,
});

app.connect('activate', () => {
    app.hold();
    const dialog = new Gtk.FileDialog({title, modal: true, accept_label: acceptLabel});
    dialog.set_initial_folder(Gio.File.new_for_path(GLib.get_home_dir()));
    // promisified above; the GTK 4.12 typings know neither the callback nor the promise
    const openMultiple = dialog.open_multiple as unknown as (p: Gtk.Window | null, c: Gio.Cancellable | null) => Promise<Gio.ListModel>;
    openMultiple.call(dialog, null, null).then(files => {
        for (let i = 0; i < files.get_n_items(); i++) {
            const file = files.get_item(i) as Gio.File | null;
            if (file)
                print(file.get_uri());
        }
    }).catch((e: unknown) => {
        if (!(e instanceof GLib.Error && e.matches(Gtk.dialog_error_quark(), Gtk.DialogError.DISMISSED)))
            printerr(`ferry chooser: ${e instanceof Error ? e.message : String(e)}`);
    }).finally(() => app.release());
});

app.run([]);
