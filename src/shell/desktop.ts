// What the shell does with files, links and the clipboard on the user's behalf, all asynchronous.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import St from 'gi://St';

function launchContext(): Gio.AppLaunchContext {
    return global.create_app_launch_context(0, -1);
}

function logFailure(what: string): (e: unknown) => void {
    return e => console.warn(`Ferry: ${what}: ${e instanceof Error ? e.message : String(e)}`);
}

export function openUri(uri: string): void {
    Gio.AppInfo.launch_default_for_uri_async(uri, launchContext(), null, (_o, res) => {
        try {
            Gio.AppInfo.launch_default_for_uri_finish(res);
        } catch (e) {
            logFailure(`cannot open ${uri}`)(e);
        }
    });
}

export function openFile(path: string): void {
    openUri(Gio.File.new_for_path(path).get_uri() ?? '');
}

/** Shows files selected in the file manager (org.freedesktop.FileManager1). */
export function showInFiles(paths: string[]): void {
    const uris = paths.map(p => Gio.File.new_for_path(p).get_uri());
    Gio.DBus.session.call('org.freedesktop.FileManager1', '/org/freedesktop/FileManager1',
        'org.freedesktop.FileManager1', 'ShowItems', new GLib.Variant('(ass)', [uris, '']), null,
        Gio.DBusCallFlags.NONE, -1, null, (conn, res) => {
            try {
                conn?.call_finish(res);
            } catch (e) {
                logFailure('cannot show the files')(e);
                // without a file manager on the bus, open the folder instead
                const parent = Gio.File.new_for_path(paths[0]).get_parent();
                if (parent)
                    openUri(parent.get_uri() ?? '');
            }
        });
}

export function setClipboardText(text: string): void {
    St.Clipboard.get_default().set_text(St.ClipboardType.CLIPBOARD, text);
}

export function clipboardText(): Promise<string> {
    return new Promise(resolve => {
        St.Clipboard.get_default().get_text(St.ClipboardType.CLIPBOARD, (_c, text) => resolve(text ?? ''));
    });
}

/**
 * Runs the extension's GTK file chooser (the shell cannot show GTK windows) and resolves with the
 * chosen local paths, or [] when the user cancels. `cancellable` stops the chooser.
 */
export function chooseFiles(chooserScript: string, title: string, acceptLabel: string, cancellable: Gio.Cancellable): Promise<string[]> {
    const gjs = GLib.find_program_in_path('gjs') ?? '/usr/bin/gjs';
    const argv = [gjs, '-m', chooserScript, '--title', title, '--accept', acceptLabel];
    const launcher = new Gio.SubprocessLauncher({flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE});
    // an activation token lets the dialog take the focus, as the user just asked for it
    const appInfo = Gio.AppInfo.create_from_commandline(GLib.shell_quote(gjs), 'Ferry',
        Gio.AppInfoCreateFlags.SUPPORTS_STARTUP_NOTIFICATION);
    const token = launchContext().get_startup_notify_id(appInfo, []);
    if (token) {
        launcher.setenv('XDG_ACTIVATION_TOKEN', token, true);
        launcher.setenv('DESKTOP_STARTUP_ID', token, true);
    }
    const proc = launcher.spawnv(argv);
    const stop = cancellable.connect(() => proc.force_exit());
    return new Promise<string[]>((resolve, reject) => {
        proc.communicate_utf8_async(null, null, (_p, res) => {
            cancellable.disconnect(stop);
            try {
                const [, stdout, stderr] = proc.communicate_utf8_finish(res);
                if (!proc.get_successful()) {
                    if (cancellable.is_cancelled())
                        resolve([]);
                    else
                        reject(new Error(`the file chooser failed: ${stderr?.trim() || `exit ${proc.get_exit_status()}`}`));
                    return;
                }
                resolve((stdout ?? '').split('\n').filter(l => l.startsWith('file://'))
                    .map(uri => Gio.File.new_for_uri(uri).get_path())
                    .filter((p): p is string => p !== null));
            } catch (e) {
                reject(e);
            }
        });
    });
}
