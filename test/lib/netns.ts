// Test hosts: two network namespaces joined by a veth pair, each with its own session bus and
// its own HOME, running real `ferry` processes. Everything is created and removed by the tests.
import GLib from 'gi://GLib';
import {Background, FERRY, ROOT, RunResult, check, inRootArgv, privateBus, run, sleep, waitFor} from './proc.js';

let counter = 0;

export interface HostPairOptions {
    /**
     * true: a /24 with a default route, so the limited broadcast reaches the other namespace.
     * false: point-to-point /32 addresses and no default route, so no broadcast can pass.
     */
    broadcast: boolean;
}

export class HostPair {
    private constructor(readonly nsA: string, readonly nsB: string, readonly ipA: string, readonly ipB: string) {}

    static async create(opts: HostPairOptions = {broadcast: true}): Promise<HostPair> {
        counter++;
        const tag = `fy${new Date().getTime() % 100000}${counter}`;
        const [a, b] = [`${tag}a`, `${tag}b`];
        const net = `10.213.${(counter * 7 + new Date().getSeconds()) % 250}`;
        const pair = new HostPair(a, b, `${net}.1`, `${net}.2`);
        await check(['ip', 'netns', 'add', a]);
        await check(['ip', 'netns', 'add', b]);
        await check(['ip', 'link', 'add', `${a}0`, 'netns', a, 'type', 'veth', 'peer', 'name', `${b}0`, 'netns', b]);
        for (const [ns, ip, peer] of [[a, pair.ipA, pair.ipB], [b, pair.ipB, pair.ipA]]) {
            if (opts.broadcast)
                await check(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', `${ns}0`]);
            else
                await check(['ip', '-n', ns, 'addr', 'add', ip, 'peer', peer, 'dev', `${ns}0`]);
            await check(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
            await check(['ip', '-n', ns, 'link', 'set', `${ns}0`, 'up']);
            if (opts.broadcast)
                await check(['ip', '-n', ns, 'route', 'add', 'default', 'dev', `${ns}0`]);
        }
        return pair;
    }

    /**
     * Drops, in both namespaces, every datagram that leaves for `what`: 'broadcast' (the limited
     * and the subnet's broadcast address), 'multicast' (224.0.0.0/4, multicast DNS among them),
     * as networks that filter them do. An nftables rule the namespace takes with it.
     */
    async block(what: 'broadcast' | 'multicast'): Promise<void> {
        const rule = what === 'broadcast' ? `ip daddr { 255.255.255.255, ${this.ipA.replace(/\.\d+$/, '.255')} } drop`
            : 'ip daddr 224.0.0.0/4 drop';
        for (const ns of [this.nsA, this.nsB]) {
            const nft = (...args: string[]) => check(['ip', 'netns', 'exec', ns, 'nft', ...args]);
            await nft('add', 'table', 'inet', 'ferrytest');
            await nft('add', 'chain', 'inet', 'ferrytest', 'out', '{ type filter hook output priority 0 ; }');
            await nft('add', 'rule', 'inet', 'ferrytest', 'out', ...rule.split(' '));
        }
    }

    async destroy(): Promise<void> {
        await run(['ip', 'netns', 'del', this.nsA]);
        await run(['ip', 'netns', 'del', this.nsB]);
    }
}

/** One Ferry installation (HOME, config, session bus) living in one namespace. */
export class FerryNode {
    readonly home: string;
    private bus: Background | null = null;
    serveProc: Background | null = null;
    /**
     * A Debian root file system whose gjs and GLib run `ferry serve` (chroot), else the host's:
     * FERRY_ENGINE_ROOT runs a whole suite's engines there (scripts/test.sh: gjs 1.90 of sid).
     */
    root: string | null = GLib.getenv('FERRY_ENGINE_ROOT') || null;
    /** More environment for `ferry serve`. */
    serveEnv: Record<string, string> = {};

    constructor(readonly ns: string, readonly name: string) {
        this.home = GLib.dir_make_tmp(`ferry-${name.replace(/[^A-Za-z0-9]/g, '_')}-XXXXXX`);
    }

    get configDir(): string {
        return `${this.home}/.config/ferry`;
    }

    get env(): Record<string, string> {
        return {
            HOME: this.home,
            XDG_CONFIG_HOME: `${this.home}/.config`,
            XDG_DATA_HOME: `${this.home}/.local/share`,
            XDG_CACHE_HOME: `${this.home}/.cache`,
            DBUS_SESSION_BUS_ADDRESS: `unix:path=${this.home}/bus`,
            GSETTINGS_BACKEND: 'memory',
        };
    }

    private exec(argv: string[]): string[] {
        return ['ip', 'netns', 'exec', this.ns, ...argv];
    }

    async startBus(): Promise<void> {
        this.bus = new Background(this.exec(privateBus(`${this.home}/bus`)), this.env);
        await waitFor('the session bus socket', 5000, () => GLib.file_test(`${this.home}/bus`, GLib.FileTest.EXISTS) || undefined);
    }

    /** Starts `ferry serve` and waits until its engine runs. */
    async serve(args: string[] = []): Promise<Background> {
        if (!this.bus)
            await this.startBus();
        const argv = [FERRY, 'serve', '--name', this.name, ...args];
        // in a root: the host's /tmp (HOME, what is mounted below it, the files a test sends) and
        // the project, at the same paths
        const proc = new Background(this.root ? inRootArgv(this.ns, this.root, [['/tmp', 'rbind'], [ROOT, 'bind']], argv)
            : this.exec(argv), {...this.env, ...this.serveEnv});
        this.serveProc = proc;
        await proc.waitForLine(/state running|state deferred|state failed/, 10000);
        return proc;
    }

    async stopServe(): Promise<void> {
        await this.serveProc?.stop();
        this.serveProc = null;
        await sleep(100);
    }

    cli(args: string[]): Promise<RunResult> {
        return run(this.exec([FERRY, ...args]), this.env);
    }

    /** Calls the engine's Refresh over D-Bus: Ferry announces itself on every network. */
    async refresh(): Promise<void> {
        await check(this.exec(['gdbus', 'call', '--session', '--dest', 'org.gnome.Shell.Extensions.Ferry',
            '--object-path', '/org/gnome/Shell/Extensions/Ferry', '--method', 'org.gnome.Shell.Extensions.Ferry.Refresh']), this.env);
    }

    async json<T>(args: string[]): Promise<T> {
        const r = await this.cli([...args, '--json']);
        if (r.status !== 0)
            throw new Error(`ferry ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
        return JSON.parse(r.stdout) as T;
    }

    async destroy(): Promise<void> {
        await this.stopServe();
        await this.bus?.stop();
        this.bus = null;
        await run(['rm', '-rf', this.home]);
    }
}
