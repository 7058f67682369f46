// Writing a received file safely: into a hidden partial file created exclusively in the receive
// folder, renamed to a free final name only when complete, never over an existing file or link.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {numberedName} from '../protocol/fileName.js';
import {ensureDirectory, removeFile} from './fs.js';
import {closeOutput, createFile, moveFile, setFileAttributes} from '../net/gio.js';
import {trace} from '../lib/trace.js';

const MAX_DUPLICATES = 10000;

export class PartialFile {
    private constructor(readonly file: Gio.File, readonly stream: Gio.FileOutputStream) {}

    /**
     * Creates `.ferry-XXXXXXXX.partial` in `dir` with O_EXCL (a planted file or link makes it
     * fail). The folder is made only when it is missing: a batch's files cost one call each.
     */
    static async create(dir: string): Promise<PartialFile> {
        for (let attempt = 0, madeDir = false; ; attempt++) {
            const tag = (GLib.uuid_string_random() ?? '').replace(/-/g, '').slice(0, 12);
            const file = Gio.File.new_for_path(GLib.build_filenamev([dir, `.ferry-${tag}.partial`]));
            try {
                const stream = await createFile(file, Gio.FileCreateFlags.NONE, GLib.PRIORITY_LOW, null);
                return new PartialFile(file, stream);
            } catch (e) {
                if (attempt < 5 && e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.EXISTS))
                    continue;
                if (!madeDir && e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND)) {
                    madeDir = true;
                    try {
                        await ensureDirectory(dir, 0o755);
                    } catch (e2) {
                        throw new Error(`cannot make the receive folder ${dir}: ${ioCause(e2)}`);
                    }
                    continue;
                }
                throw new Error(`cannot write in the receive folder ${dir}: ${ioCause(e)}`);
            }
        }
    }

    get path(): string {
        return this.file.get_path() ?? '';
    }

    async close(): Promise<void> {
        if (!this.stream.is_closed())
            await closeOutput(this.stream, GLib.PRIORITY_LOW, null);
    }

    /** Removes the partial file (after a failure). */
    async discard(): Promise<void> {
        try {
            await this.close();
        } catch {
            // a stream that failed to write may fail to close; the file goes all the same
        }
        await removeFile(this.path);
    }

    /**
     * Renames the partial file to the first free name among `name`, `name (1)`… in its folder
     * and sets its modification time. Returns the final path.
     */
    async finish(name: string, lastModifiedMs?: number, traceKey = ''): Promise<string> {
        await this.close();
        trace('rx.fileClosed', traceKey);
        const dir = this.file.get_parent();
        if (!dir)
            throw new Error('the partial file has no folder');
        // the name itself first, then on from the last number taken for it (a peer sending the same
        // name thousands of times must not cost a thousand tries per file)
        const key = `${dir.get_path()}/${name}`;
        const hint = lastNumber.get(key) ?? 0;
        for (let i = 0; i < MAX_DUPLICATES; i++) {
            const n = i === 0 ? 0 : hint + i;
            const target = dir.get_child(numberedName(name, n));
            try {
                // without OVERWRITE, GIO refuses when anything (even a dangling link) has the name
                await moveFile(this.file, target, Gio.FileCopyFlags.NOFOLLOW_SYMLINKS, GLib.PRIORITY_LOW, null);
            } catch (e) {
                if (e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.EXISTS))
                    continue;
                if (e instanceof GLib.Error && e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND))
                    throw new Error(`the receive folder ${dir.get_path()} disappeared during the transfer (${ioCause(e)})`);
                throw new Error(`cannot put the file in the receive folder ${dir.get_path()}: ${ioCause(e)}`);
            }
            trace('rx.renamed', traceKey);
            if (n > 0)
                rememberNumber(key, n);
            if (lastModifiedMs !== undefined)
                await setModified(target, lastModifiedMs).catch(() => undefined);
            return target.get_path() ?? '';
        }
        throw new Error(`no free name for ${name} in ${dir.get_path()}`);
    }
}

/** The system's reason without GIO's "Error opening file …:" preamble, which names our hidden partial file. */
function ioCause(e: unknown): string {
    const message = (e instanceof Error || e instanceof GLib.Error ? e.message : null) ?? String(e);
    const at = message.lastIndexOf(': ');
    return at < 0 ? message : message.slice(at + 2);
}

const lastNumber = new Map<string, number>();

function rememberNumber(key: string, n: number): void {
    lastNumber.delete(key);
    lastNumber.set(key, n);
    if (lastNumber.size > 256)
        lastNumber.delete(lastNumber.keys().next().value ?? '');
}

export async function setModified(file: Gio.File, ms: number): Promise<void> {
    const info = new Gio.FileInfo();
    info.set_attribute_uint64('time::modified', Math.floor(ms / 1000));
    info.set_attribute_uint32('time::modified-usec', Math.floor(ms % 1000) * 1000);
    await setFileAttributes(file, info, Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, GLib.PRIORITY_LOW, null);
}
