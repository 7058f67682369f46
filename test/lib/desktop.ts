// A real GNOME Shell 48 session, headless, in the Debian 13 root and a network namespace
// (test/rigs/shell-desktop.sh), with Ferry's built extension and the test-only helper installed.
// The tests talk to it over its session bus, whose socket is in the session's HOME.
import GLib from 'gi://GLib';
import {Background, ROOT, check, run, RunResult, waitFor} from './proc.js';

export const FERRY_UUID = 'ferry@ferry-kdeconnect.github.io';
const HELPER_UUID = 'helper@ferry.test';
const TESTER = 1000;

export interface ExtensionState {
    state: number;
    error: string;
}

export class Desktop {
    private proc: Background | null = null;
    shellPid = 0;

    private constructor(readonly ns: string, readonly root: string, readonly home: string, readonly out: string) {}

    /** Starts the shell with Ferry's extension (build/extension) and the helper enabled. */
    static async start(ns: string, root: string, out: string): Promise<Desktop> {
        const home = GLib.dir_make_tmp('ferry-desktop-XXXXXX') ?? '';
        const desktop = new Desktop(ns, root, home, out);
        const exts = `${home}/.local/share/gnome-shell/extensions`;
        await check(['mkdir', '-p', exts, out]);
        // installed from the zip `npm run pack` makes, as a user installs it; schemas compiled at install
        const zip = (await check(['python3', `${ROOT}/scripts/pack.py`, home])).trim();
        await check(['python3', '-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])',
            zip, `${exts}/${FERRY_UUID}`]);
        await check(['rm', zip]);
        await check(['glib-compile-schemas', `${exts}/${FERRY_UUID}/schemas`]);
        await check(['cp', '-r', `${ROOT}/test/shell/${HELPER_UUID}`, `${exts}/${HELPER_UUID}`]);
        const nautilus = `${home}/.local/share/nautilus-python/extensions`;
        await check(['mkdir', '-p', nautilus]);
        await check(['cp', `${ROOT}/nautilus/ferry-nautilus.py`, nautilus]);
        await check(['chown', '-R', `${TESTER}:${TESTER}`, home]);
        await check(['chmod', '700', home]);
        desktop.proc = new Background(['ip', 'netns', 'exec', ns, 'bash', `${ROOT}/test/rigs/shell-desktop.sh`,
            root, home, FERRY_UUID, HELPER_UUID]);
        desktop.shellPid = await waitFor('gnome-shell to start', 30000, () => {
            const m = /^SHELL (\d+)$/m.exec(desktop.log);
            if (!m && !desktop.proc?.running)
                throw new Error(`the desktop did not start:\n${desktop.log}`);
            return m ? Number(m[1]) : undefined;
        });
        await waitFor('the test helper to be active', 60000, async () => {
            if (!desktop.proc?.running)
                throw new Error(`gnome-shell exited:\n${desktop.log.slice(-4000)}`);
            const info = await desktop.extensionInfo(HELPER_UUID);
            return info.state === 1 || undefined;
        });
        await waitFor('the shell to finish starting up', 30000, async () =>
            await desktop.eval('Main.layoutManager._startingUp === false') === true || undefined);
        // a session starts in the overview; a user at work sees the desktop
        await desktop.eval('Main.overview.hide(); true');
        return desktop;
    }

    get log(): string {
        return this.proc?.output ?? '';
    }

    get busEnv(): Record<string, string> {
        return {DBUS_SESSION_BUS_ADDRESS: `unix:path=${this.home}/.bus`};
    }

    /** gdbus on the session's bus, as the session's user. */
    gdbus(...args: string[]): Promise<RunResult> {
        return run(['setpriv', `--reuid=${TESTER}`, `--regid=${TESTER}`, '--clear-groups', 'gdbus', ...args], this.busEnv);
    }

    async call(dest: string, path: string, method: string, ...args: string[]): Promise<string> {
        const r = await this.gdbus('call', '--session', '--dest', dest, '--object-path', path, '--method', method, ...args);
        if (r.status !== 0)
            throw new Error(`${method} failed: ${r.stderr.trim()}${this.gone()}`);
        return r.stdout;
    }

    /** When the session has ended (a call could not reach its bus), the end of its log, to say why. */
    private gone(): string {
        return this.proc && !this.proc.running ? `\n(the session ended; the end of its log:)\n${this.log.slice(-4000)}` : '';
    }

    /** Runs JavaScript in the shell (org.gnome.Shell.Eval, open in unsafe mode); returns its JSON value. */
    async eval(code: string): Promise<unknown> {
        // gdbus reads the argument as GVariant text first: pass it as an explicit string
        const out = await this.call('org.gnome.Shell', '/org/gnome/Shell', 'org.gnome.Shell.Eval',
            new GLib.Variant('s', code).print(false) ?? '');
        const m = /^\((true|false), (.*)\)\s*$/s.exec(out);
        if (!m)
            throw new Error(`unexpected Eval answer: ${out}`);
        const text = GLib.Variant.parse(new GLib.VariantType('s'), m[2], null, null).get_string()[0];
        if (m[1] !== 'true')
            throw new Error(`Eval failed: ${text}`);
        return text === '' ? undefined : JSON.parse(text);
    }

    async extensionInfo(uuid: string): Promise<ExtensionState> {
        const r = await this.gdbus('call', '--session', '--dest', 'org.gnome.Shell', '--object-path', '/org/gnome/Shell',
            '--method', 'org.gnome.Shell.Extensions.GetExtensionInfo', uuid);
        // GVariant text quotes a string with an apostrophe in it with double quotes
        const error = /'error': <(?:'([^']*)'|"((?:[^"\\]|\\.)*)")>/.exec(r.stdout);
        return {
            state: Number(/'state': <([0-9.]+)>/.exec(r.stdout)?.[1] ?? -1),
            error: error ? error[1] ?? error[2] : r.status === 0 ? '' : `GetExtensionInfo failed: ${r.stderr.trim()}${this.gone()}`,
        };
    }

    async extensionErrors(uuid: string): Promise<string> {
        return this.call('org.gnome.Shell', '/org/gnome/Shell', 'org.gnome.Shell.Extensions.GetExtensionErrors', uuid);
    }

    /**
     * Types into the focused window through a virtual keyboard of the shell's seat.
     * `keys`: text, or key names in braces with modifiers, e.g. "{Control_L+l}/home{Return}".
     */
    async type(keys: string): Promise<void> {
        await this.eval(`(() => {
            const {Clutter, GLib} = imports.gi;
            // GNOME 51 removed Clutter.get_default_backend(): the stage's context has the backend
            const backend = global.stage.context?.get_backend?.() ?? Clutter.get_default_backend();
            const seat = backend.get_default_seat();
            globalThis.ferryTestKeyboard ??= seat.create_virtual_device(Clutter.InputDeviceType.KEYBOARD_DEVICE);
            const kb = globalThis.ferryTestKeyboard;
            const press = (keyval, down) => kb.notify_keyval(GLib.get_monotonic_time(), keyval,
                down ? Clutter.KeyState.PRESSED : Clutter.KeyState.RELEASED);
            const tap = keyvals => {
                keyvals.forEach(k => press(k, true));
                [...keyvals].reverse().forEach(k => press(k, false));
            };
            for (const part of ${JSON.stringify(keys)}.split(/([{][^}]+[}])/)) {
                if (part.startsWith('{'))
                    tap(part.slice(1, -1).split('+').map(name => Clutter[\`KEY_\${name}\`]));
                else
                    [...part].forEach(ch => tap([Clutter.unicode_to_keysym(ch.codePointAt(0))]));
            }
            return true;
        })()`);
    }

    /** Takes a screenshot into the test output folder; returns its path. */
    async screenshot(name: string): Promise<string> {
        // into a hidden folder of the session's HOME: the host can read it, Nautilus does not list it
        await check(['install', '-d', '-o', String(TESTER), '-g', String(TESTER), `${this.home}/.cache/shots`]);
        await this.call('org.gnome.Shell', '/org/gnome/Shell/Screenshot', 'org.gnome.Shell.Screenshot.Screenshot',
            'false', 'false', `/home/tester/.cache/shots/${name}`);
        const target = `${this.out}/${name}`;
        await check(['cp', `${this.home}/.cache/shots/${name}`, target]);
        return target;
    }

    /** Open file descriptors of the gnome-shell process. */
    async openFds(): Promise<number> {
        return (await check(['ls', `/proc/${this.shellPid}/fd`])).split('\n').filter(Boolean).length;
    }

    /** JS errors the shell logged that mention Ferry. */
    ferryErrors(): string[] {
        const lines = this.log.split('\n');
        const found: string[] = [];
        lines.forEach((line, i) => {
            if (/JS ERROR|JS WARNING|Gjs-CRITICAL/.test(line)) {
                const context = lines.slice(i, i + 12).join('\n');
                if (context.includes(FERRY_UUID))
                    found.push(context);
            }
        });
        return found;
    }

    async stop(): Promise<void> {
        await this.proc?.stop();
        // the whole session's log beside the screenshots, for a failure's reader
        if (this.proc)
            GLib.file_set_contents(`${this.out}/gnome-shell.log`, new TextEncoder().encode(`${this.log}\n`));
        this.proc = null;
        await run(['rm', '-rf', this.home]);
    }
}
