// Process helpers for the tests: run commands without blocking the main loop, and keep
// long-running ones (ferry serve, dbus-daemon) under control.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

Gio._promisify(Gio.Subprocess.prototype, 'communicate_utf8_async');
Gio._promisify(Gio.Subprocess.prototype, 'wait_async');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async');

export const ROOT = GLib.get_current_dir();
export const FERRY = `${ROOT}/bin/ferry`;

export interface RunResult {
    status: number;
    stdout: string;
    stderr: string;
}

/** Runs argv to completion; never throws for a non-zero exit. */
export async function run(argv: string[], env: Record<string, string> = {}, stdin: string | null = null): Promise<RunResult> {
    const launcher = new Gio.SubprocessLauncher({
        flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE |
            (stdin === null ? Gio.SubprocessFlags.NONE : Gio.SubprocessFlags.STDIN_PIPE),
    });
    for (const [k, v] of Object.entries(env))
        launcher.setenv(k, v, true);
    const proc = launcher.spawnv(argv);
    const [stdout, stderr] = await proc.communicate_utf8_async(stdin, null);
    return {status: proc.get_if_exited() ? proc.get_exit_status() : 128 + proc.get_term_sig(), stdout: stdout ?? '', stderr: stderr ?? ''};
}

/** Runs argv and throws with its output when it fails. */
export async function check(argv: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await run(argv, env);
    if (r.status !== 0)
        throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
    return r.stdout;
}

export function isRoot(): boolean {
    return GLib.getenv('USER') === 'root' || GLib.get_user_name() === 'root';
}

export function have(program: string): boolean {
    return GLib.find_program_in_path(program) !== null;
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        resolve();
        return GLib.SOURCE_REMOVE;
    }));
}

/** Polls `probe` until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
    const deadline = GLib.get_monotonic_time() + ms * 1000;
    let lastError: unknown = null;
    for (;;) {
        try {
            const v = await probe();
            if (v !== undefined)
                return v;
        } catch (e) {
            lastError = e;
        }
        if (GLib.get_monotonic_time() > deadline)
            throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
        await sleep(100);
    }
}

/** A background process whose output is collected line by line. */
export class Background {
    readonly lines: string[] = [];
    private readonly proc: Gio.Subprocess;
    readonly exited: Promise<number>;

    constructor(argv: string[], env: Record<string, string> = {}) {
        const launcher = new Gio.SubprocessLauncher({
            flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE,
        });
        for (const [k, v] of Object.entries(env))
            launcher.setenv(k, v, true);
        this.proc = launcher.spawnv(argv);
        this.pump(this.proc.get_stdout_pipe()!).catch(() => undefined);
        this.exited = this.proc.wait_async(null).then(() =>
            this.proc.get_if_exited() ? this.proc.get_exit_status() : 128 + this.proc.get_term_sig());
    }

    private async pump(stream: Gio.InputStream): Promise<void> {
        // lines are cut on the newline byte and only then decoded: a UTF-8 character may straddle
        // two reads (gjs 1.74's TextDecoder has no streaming mode)
        const decoder = new TextDecoder();
        let pending = new Uint8Array(0);
        for (;;) {
            const bytes = await stream.read_bytes_async(4096, GLib.PRIORITY_DEFAULT, null);
            if (bytes.get_size() === 0)
                break;
            const chunk = bytes.toArray();
            const joined = new Uint8Array(pending.length + chunk.length);
            joined.set(pending);
            joined.set(chunk, pending.length);
            const end = joined.lastIndexOf(10);
            if (end < 0) {
                pending = joined;
                continue;
            }
            this.lines.push(...decoder.decode(joined.subarray(0, end)).split('\n'));
            pending = joined.slice(end + 1);
        }
        if (pending.length)
            this.lines.push(decoder.decode(pending));
    }

    get output(): string {
        return this.lines.join('\n');
    }

    /** Waits for a line matching `pattern` (searching all output so far). */
    waitForLine(pattern: RegExp, ms = 10000): Promise<string> {
        return waitFor(`a line matching ${pattern} in:\n${this.output}`, ms, () => this.lines.find(l => pattern.test(l)));
    }

    get running(): boolean {
        return this.proc.get_identifier() !== null;
    }

    /** The process id (while it runs; `ip netns exec` and bin/ferry exec, so this is the program's). */
    get pid(): number {
        return Number(this.proc.get_identifier() ?? 0);
    }

    /**
     * Sends it `signum` while it runs, and nothing once it has exited: `kill` with its pid, which
     * is 0 by then, would signal the whole process group, the test runner with it.
     */
    signal(signum: number): void {
        if (this.running)
            this.proc.send_signal(signum);
    }

    /** Kills it outright (SIGKILL), as a crash or a pulled plug would. */
    async kill(): Promise<number> {
        this.signal(9);
        return this.exited;
    }

    async stop(): Promise<number> {
        this.signal(15);
        let timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 3000, () => {
            timer = 0;
            this.proc.force_exit();
            return GLib.SOURCE_REMOVE;
        });
        const code = await this.exited;
        if (timer)
            GLib.source_remove(timer);
        return code;
    }
}

/**
 * argv for a private session bus at `socket` that activates no services: a bus with the usual
 * service folders would start the host's kdeconnectd or GSConnect when a test calls them early.
 */
export function privateBus(socket: string): string[] {
    const config = `${socket}.conf`;
    const xml = '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" ' +
        '"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n<busconfig><type>session</type>' +
        `<listen>unix:path=${socket}</listen><policy context="default"><allow send_destination="*" eavesdrop="true"/>` +
        '<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>\n';
    GLib.file_set_contents(config, new TextEncoder().encode(xml));
    return ['dbus-daemon', `--config-file=${config}`, '--nofork', '--nopidfile'];
}

export async function sha256(path: string): Promise<string> {
    return (await check(['sha256sum', path])).split(' ')[0];
}

/**
 * argv run in network namespace `ns` and chrooted into the Debian root file system `root`, with
 * each of `binds` mounted at the same path inside (`rbind` takes what is mounted below it too).
 * `ip netns exec` gives the command a mount namespace of its own: these mounts end with it.
 */
export function inRootArgv(ns: string, root: string, binds: [string, 'bind' | 'rbind'][], argv: string[]): string[] {
    const dirs = binds.map(([path]) => `'${root}${path}'`).join(' ');
    const mounts = binds.map(([path, kind]) => `mount --${kind} '${path}' '${root}${path}'`).join(' && ');
    const script = `mount --make-rprivate / && mkdir -p ${dirs} && ${mounts} && ` +
        `mount -t proc proc '${root}/proc' && mount --rbind /dev '${root}/dev' && exec chroot '${root}' "$@"`;
    return ['ip', 'netns', 'exec', ns, 'sh', '-c', script, 'sh', ...argv];
}
