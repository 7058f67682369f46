// Asynchronous file helpers: nothing here blocks the main loop (the engine runs inside GNOME Shell).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {callAsync, decoder, encoder} from '../net/gio.js';

export async function readText(path: string): Promise<string | null> {
    try {
        const [data] = await Gio.File.new_for_path(path).load_contents_async(null);
        return decoder.decode(data);
    } catch (e) {
        if (e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND))
            return null;
        throw e;
    }
}

/** Replaces `path` atomically (temporary file, then rename); new files get mode 0600. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
    const file = Gio.File.new_for_path(path);
    await callAsync(cb => file.replace_contents_bytes_async(new GLib.Bytes(encoder.encode(text)), null, false,
        Gio.FileCreateFlags.PRIVATE | Gio.FileCreateFlags.REPLACE_DESTINATION, null, cb),
    res => file.replace_contents_finish(res));
}

export async function exists(path: string): Promise<boolean> {
    try {
        await Gio.File.new_for_path(path).query_info_async('standard::type', Gio.FileQueryInfoFlags.NONE,
            GLib.PRIORITY_DEFAULT, null);
        return true;
    } catch {
        return false;
    }
}

/** Seconds since `path` was last modified, or null when it does not exist. */
export async function ageSeconds(path: string): Promise<number | null> {
    try {
        const info = await Gio.File.new_for_path(path).query_info_async('time::modified', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS,
            GLib.PRIORITY_DEFAULT, null);
        return GLib.get_real_time() / 1e6 - info.get_attribute_uint64('time::modified');
    } catch {
        return null;
    }
}

/** Creates `path` and its parents; the last component gets `mode`. */
export async function ensureDirectory(path: string, mode = 0o700): Promise<void> {
    const dir = Gio.File.new_for_path(path);
    const parent = dir.get_parent();
    if (parent && parent.get_path() !== path && !await exists(parent.get_path() ?? '/'))
        await ensureDirectory(parent.get_path() ?? '/', 0o755);
    try {
        await dir.make_directory_async(GLib.PRIORITY_DEFAULT, null);
    } catch (e) {
        if (e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.EXISTS))
            return;
        throw e;
    }
    await setMode(path, mode);
}

export async function setMode(path: string, mode: number): Promise<void> {
    const info = new Gio.FileInfo();
    info.set_attribute_uint32('unix::mode', mode);
    await Gio.File.new_for_path(path).set_attributes_async(info, Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS,
        GLib.PRIORITY_DEFAULT, null);
}

export async function removeFile(path: string): Promise<void> {
    try {
        await Gio.File.new_for_path(path).delete_async(GLib.PRIORITY_DEFAULT, null);
    } catch (e) {
        if (!(e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND)))
            throw e;
    }
}

export async function rename(from: string, to: string): Promise<void> {
    await Gio.File.new_for_path(from).move_async(Gio.File.new_for_path(to), Gio.FileCopyFlags.OVERWRITE,
        GLib.PRIORITY_DEFAULT, null, null);
}

/** Runs a program without a shell and without blocking; returns stdout, throws with stderr on failure. */
export async function run(argv: string[], stdin: string | null = null): Promise<string> {
    const flags = Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE |
        (stdin === null ? Gio.SubprocessFlags.NONE : Gio.SubprocessFlags.STDIN_PIPE);
    const proc = Gio.Subprocess.new(argv, flags);
    const [stdout, stderr] = await proc.communicate_utf8_async(stdin, null);
    if (!proc.get_successful())
        throw new Error(`${argv[0]} failed: ${(stderr ?? '').trim() || `exit status ${proc.get_exit_status()}`}`);
    return stdout ?? '';
}
