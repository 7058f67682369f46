// Ferry's extension inside real GNOME Shells, headless, each in its own network namespace with a
// `ferry serve` peer in another: 48 (Debian 13 root), 50 (Debian testing) and 51 (unstable).
// Screenshots and figures go to build/test-output/<version>/.
import GLib from 'gi://GLib';
import {makeCert} from '../lib/certs.js';
import {Desktop, FERRY_UUID} from '../lib/desktop.js';
import {requirePrerequisite} from '../lib/ferry.js';
import {FerryNode, HostPair} from '../lib/netns.js';
import {Background, FERRY, ROOT, check, isRoot, run, sha256, sleep, waitFor} from '../lib/proc.js';

const FERRY_BUS = ['org.gnome.Shell.Extensions.Ferry', '/org/gnome/Shell/Extensions/Ferry'] as const;
const OUT_BASE = GLib.getenv('FERRY_TEST_OUT') || `${ROOT}/build/test-output`;

interface ShellKind {
    version: number;
    /** The root file system's variable (scripts/test.sh sets it) and Debian suite. */
    env: string;
    suite: string;
}

const SHELLS: ShellKind[] = [
    {version: 48, env: 'FERRY_TRIXIE_ROOT', suite: 'trixie'},
    {version: 50, env: 'FERRY_FORKY_ROOT', suite: 'forky'},
    {version: 51, env: 'FERRY_SID_ROOT', suite: 'sid'},
];
const PYTHON = '/usr/bin/python3';

interface TickStats {
    ticks: number;
    p50: number;
    p99: number;
    max: number;
    /** The shell's main thread over the window: ms on a CPU, ms runnable but waiting for one. */
    runMs: number;
    waitMs: number;
}

interface MenuDevice {
    label: string;
    items: string[];
}

for (const shell of SHELLS)
    describeShell(shell);

function describeShell(shell: ShellKind): void {
const OUT = `${OUT_BASE}/${shell.version}`;
const shellRoot = (): string | null => {
    const root = GLib.getenv(shell.env);
    return root && GLib.file_test(`${root}/usr/bin/gnome-shell`, GLib.FileTest.EXISTS) ? root : null;
};

describe(`the extension in GNOME Shell ${shell.version}`, () => {
    let hosts: HostPair;
    let desktop: Desktop;
    let peer: FerryNode;
    let peerRecv: string;
    let shellId = '';
    let peerId = '';
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;
    const ready = () => requirePrerequisite(!isRoot() ? 'root (network namespaces, chroot)'
        : shellRoot() ? null : `GNOME Shell ${shell.version} in the Debian ${shell.suite} root (${shell.env} from scripts/rig-root.sh ${shell.suite})`);

    const ferryCall = (method: string, ...args: string[]) =>
        desktop.call(FERRY_BUS[0], FERRY_BUS[1], `${FERRY_BUS[0]}.${method}`, ...args);
    const menuDevices = async () => await desktop.eval(`(() => {
        const menu = Main.panel.statusArea[${JSON.stringify(FERRY_UUID)}].menu;
        return menu._getMenuItems().filter(i => i.menu).map(i => ({label: i.label.text,
            items: i.menu._getMenuItems().map(x => x.label?.text ?? '')}));
    })()`) as MenuDevice[];
    const ferryNotifications = async () => await desktop.eval(`(() => {
        const source = Main.messageTray.getSources().find(s => s.title === 'Ferry');
        return (source?.notifications ?? []).map(n => ({title: n.title, body: n.body,
            actions: n.actions.map(a => a.label)}));
    })()`) as {title: string; body: string; actions: string[]}[];

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 120000;
        if (!isRoot() || !shellRoot())
            return;
        await check(['mkdir', '-p', OUT]);
        hosts = await HostPair.create();
        peer = new FerryNode(hosts.nsB, 'Pixel 7');
        peerRecv = `${peer.home}/received`;
        peerId = (await peer.json<{id: string}>(['id'])).id;
        await peer.serve(['--receive-dir', peerRecv, '--type', 'phone']);
        desktop = await Desktop.start(hosts.nsA, shellRoot()!, OUT);
    }, 300000);

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        await desktop?.stop();
        await peer?.destroy();
        await hosts?.destroy();
    });

    it('is ACTIVE with no errors, and its engine runs', async () => {
        if (!ready())
            return;
        const info = await desktop.extensionInfo(FERRY_UUID);
        expect(info).withContext(desktop.log.slice(-3000)).toEqual({state: 1, error: ''});
        expect(await desktop.extensionErrors(FERRY_UUID)).toContain('@as []');
        const identity = await waitFor('the shell-hosted engine on the bus', 20000, async () => {
            const r = await ferryCall('GetIdentity').catch(() => '');
            return /'id': <'([0-9a-f]+)'>/.exec(r)?.[1];
        });
        shellId = identity;
        expect(shellId).toMatch(/^[0-9a-f]{32}$/);
        expect(desktop.ferryErrors()).toEqual([]);
    });

    it('lists the peer in its top-bar menu, pairs through its D-Bus API, and shows the paired state', async () => {
        if (!ready())
            return;
        const found = await waitFor('Pixel 7 in the menu', 30000, async () =>
            (await menuDevices()).find(d => d.label.startsWith('Pixel 7')));
        expect(found.label).toBe('Pixel 7 — available');
        expect(found.items).toEqual(['Pair']);

        const asked = await ferryCall('Pair', '"Pixel 7"');
        expect(asked).toMatch(/'requested', '[0-9A-F]{8}'/);
        const r = await peer.cli(['pair', shellId]);
        expect(r.status).withContext(r.stderr).toBe(0);
        const paired = await waitFor('the menu to show Pixel 7 connected', 15000, async () =>
            (await menuDevices()).find(d => d.label === 'Pixel 7 — connected'));
        expect(paired.items).toEqual(['Send files…', 'Send clipboard text', 'Unpair']);
    });

    it('receives a file byte-exact and notifies with Open and Show in Files', async () => {
        if (!ready())
            return;
        // earlier banners (pairing) stay up while nobody touches the idle headless session: the
        // user dismisses them
        await desktop.eval(`Main.messageTray.getSources().find(s => s.title === 'Ferry')?.notifications
            .slice().forEach(n => n.destroy()); true`);
        const src = `${peer.home}/photo from pixel.jpg`;
        await check(['sh', '-c', `head -c 3000000 /dev/urandom > '${src}'`]);
        const sent = await peer.cli(['send', shellId, src]);
        expect(sent.status).withContext(sent.stderr).toBe(0);
        const got = `${desktop.home}/Downloads/photo from pixel.jpg`;
        await waitFor('the file in ~/Downloads', 30000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined);
        expect(await sha256(got)).toBe(await sha256(src));
        const note = await waitFor('the notification', 10000, async () =>
            (await ferryNotifications()).find(n => n.title === 'Received photo from pixel.jpg from Pixel 7'));
        expect(note.actions).toEqual(['Open', 'Show in Files']);
        expect(note.body).toBe('Saved in /home/tester/Downloads');
        // banners take turns: wait for this one's
        await waitFor('the banner', 15000, async () =>
            await desktop.eval('Main.messageTray._notification?.title ?? ""') === note.title || undefined);
        // as when the pointer rests on it: the banner shows its actions
        await desktop.eval('Main.messageTray._expandBanner(false); true');
        await sleep(700);
        await desktop.screenshot('notification-banner.png');
        await desktop.eval('Main.panel.statusArea.dateMenu.menu.open(false); true');
        await sleep(500);
        await desktop.screenshot('notification-list.png');
        await desktop.eval('Main.panel.statusArea.dateMenu.menu.close(false); true');
        // the user dismisses it (banners stay up while nobody touches an idle session)
        await desktop.eval(`Main.messageTray.getSources().find(s => s.title === 'Ferry')?.notifications
            .slice().forEach(n => n.destroy()); true`);
    });

    it('shows the device menu (screenshot)', async () => {
        if (!ready())
            return;
        const shot = await desktop.eval(`(() => {
            const button = Main.panel.statusArea[${JSON.stringify(FERRY_UUID)}];
            button.menu.open(false);
            const device = button.menu._getMenuItems().find(i => i.menu);
            device?.setSubmenuShown(true);
            return button.menu.isOpen;
        })()`);
        expect(shot).toBeTrue();
        await sleep(500);
        await desktop.screenshot('device-menu.png');
        await desktop.eval(`Main.panel.statusArea[${JSON.stringify(FERRY_UUID)}].menu.close(false); true`);
        expect(GLib.file_test(`${OUT}/device-menu.png`, GLib.FileTest.EXISTS)).toBeTrue();
    });

    it('sends files through its D-Bus API to the peer, byte-exact', async () => {
        if (!ready())
            return;
        const names = ['z pulpitu ąę.txt', 'raport.pdf'];
        for (const [i, n] of names.entries()) {
            await check(['sh', '-c', `head -c ${[12345, 2000000][i]} /dev/urandom > '${desktop.home}/${n}'`]);
            await check(['chown', '1000:1000', `${desktop.home}/${n}`]);
        }
        const list = names.map(n => new GLib.Variant('s', `/home/tester/${n}`).print(false) ?? '').join(', ');
        const id = await ferryCall('SendFiles', new GLib.Variant('s', peerId).print(false) ?? '', `[${list}]`);
        expect(id).toMatch(/\('[0-9a-f]+',\)/);
        for (const n of names) {
            const got = `${peerRecv}/${n}`;
            await waitFor(`${n} at the peer`, 30000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined);
            expect(await sha256(got)).withContext(n).toBe(await sha256(`${desktop.home}/${n}`));
        }
        await waitFor('the "sent" notification', 10000, async () =>
            (await ferryNotifications()).find(n => n.title === 'Sent 2 files to Pixel 7') ?? undefined);
    });

    it('sends what the user picks in the Send files dialog, and nothing when it is cancelled', async () => {
        if (!ready())
            return;
        const before = await ferryCall('ListTransfers');
        expect(await desktop.eval(`(() => {
            const button = Main.panel.statusArea[${JSON.stringify(FERRY_UUID)}];
            const device = button.menu._getMenuItems().find(i => i.menu);
            const send = device.menu._getMenuItems().find(i => i.label.text === 'Send files…');
            send.activate(null);
            return true;
        })()`)).toBeTrue();
        const windowTitles = 'global.get_window_actors().map(a => a.meta_window.get_title() ?? "")';
        await waitFor('the file dialog', 20000, async () =>
            (await desktop.eval(windowTitles) as string[]).includes('Send files to Pixel 7') || undefined)
            .catch(e => {
                throw new Error(`${e}\n${desktop.log.slice(-2000)}`);
            });
        const state = await waitFor('the file dialog to be drawn', 10000, async () => {
            const w = await desktop.eval(`global.get_window_actors().filter(a => a.meta_window.get_title() === 'Send files to Pixel 7')
                .map(a => ({visible: a.visible, mapped: a.mapped, w: a.width, h: a.height, x: a.x, y: a.y, opacity: a.opacity,
                    minimized: a.meta_window.minimized, showing: a.meta_window.showing_on_its_workspace()}))[0]`) as
                {mapped: boolean; w: number; h: number} | undefined;
            return w && w.mapped && w.w > 100 && w.h > 100 ? w : undefined;
        });
        print(`# file dialog: ${JSON.stringify(state)}`);
        await sleep(1000);
        await desktop.screenshot('send-files-dialog.png');
        await desktop.eval(`global.get_window_actors().map(a => a.meta_window)
            .filter(w => w.get_title() === 'Send files to Pixel 7').forEach(w => w.delete(global.get_current_time())); true`);
        await waitFor('the dialog to close', 10000, async () =>
            !(await desktop.eval(windowTitles) as string[]).includes('Send files to Pixel 7') || undefined);
        await waitFor('the chooser to exit', 10000, async () =>
            !(await check(['ps', '-eo', 'args'])).includes('chooser.js') || undefined);
        await sleep(500);
        expect(await ferryCall('ListTransfers')).toBe(before);

        // again, and this time the user types a file's path and presses Enter
        await desktop.eval(`(() => {
            const button = Main.panel.statusArea[${JSON.stringify(FERRY_UUID)}];
            const device = button.menu._getMenuItems().find(i => i.menu);
            device.menu._getMenuItems().find(i => i.label.text === 'Send files…').activate(null);
            return true;
        })()`);
        await waitFor('the file dialog again', 20000, async () =>
            (await desktop.eval(windowTitles) as string[]).includes('Send files to Pixel 7') || undefined);
        // it gets the keyboard focus (the shell hands the chooser an activation token): waited for,
        // as a loaded machine maps and focuses the window a while after it is listed
        const focused = () => desktop.eval('global.display.focus_window?.get_title() ?? ""') as Promise<string>;
        await waitFor('the file dialog to have the keyboard focus', 10000, async () =>
            await focused() === 'Send files to Pixel 7' || undefined).catch(async e => {
            throw new Error(`${e}: the focus is on "${await focused()}"`);
        });
        await sleep(300);
        await desktop.type('{Control_L+l}');
        await sleep(300);
        await desktop.type('/home/tester/raport.pdf');
        await sleep(500);
        await desktop.screenshot('send-files-typed.png');
        await desktop.type('{Return}');
        const got = `${peerRecv}/raport (1).pdf`;
        await waitFor('the picked file at the peer', 20000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined);
        expect(await sha256(got)).toBe(await sha256(`${desktop.home}/raport.pdf`));
        expect(desktop.ferryErrors()).toEqual([]);
    });

    it('opens its preferences window without errors', async () => {
        if (!ready())
            return;
        await desktop.eval(`Main.extensionManager.openExtensionPrefs(${JSON.stringify(FERRY_UUID)}, '', {}); true`);
        const windowTitles = 'global.get_window_actors().map(a => a.meta_window.get_title() ?? "")';
        await waitFor('the preferences window', 30000, async () =>
            (await desktop.eval(windowTitles) as string[]).includes('Ferry') || undefined)
            .catch(e => {
                throw new Error(`${e}\n${desktop.log.slice(-3000)}`);
            });
        await sleep(1500);
        await desktop.screenshot('preferences.png');
        expect(desktop.log).not.toMatch(/JS ERROR[^\n]*\n[^]*prefs\.js/);
        await desktop.eval(`global.get_window_actors().map(a => a.meta_window)
            .filter(w => w.get_title() === 'Ferry').forEach(w => w.delete(global.get_current_time())); true`);
    });

    it(`has the Nautilus of Debian ${shell.suite} load its "Send to" extension without errors and send a file from its context menu (screenshot)`, async () => {
        if (!ready())
            return;
        await desktop.eval(`(() => {
            const launcher = new imports.gi.Gio.SubprocessLauncher({flags: 0});
            launcher.setenv('NAUTILUS_PYTHON_DEBUG', 'misc', true);
            launcher.setenv('G_MESSAGES_DEBUG', 'all', true);
            globalThis.ferryTestNautilus = launcher.spawnv(['nautilus', '--new-window', '/home/tester']);
            return true;
        })()`);
        const windowTitles = 'global.get_window_actors().map(a => a.meta_window.get_title() ?? "")';
        await waitFor('the Nautilus window', 30000, async () =>
            (await desktop.eval(windowTitles) as string[]).some(t => /tester|Home/.test(t)) || undefined)
            .catch(e => {
                throw new Error(`${e}\n${desktop.log.slice(-3000)}`);
            });
        await waitFor('nautilus-python to load the extension', 15000, () =>
            /ferry-nautilus/.test(desktop.log) || undefined).catch(e => {
            throw new Error(`${e}\n${desktop.log.split('\n').filter(l => /python|nautilus/i.test(l)).slice(-20).join('\n')}`);
        });
        // a script that fails to load leaves a traceback naming it: say so, not a missing menu item
        const loadErrors = desktop.log.split('\n').filter(l => /ferry-nautilus\.py", line|Error: Namespace Nautilus/.test(l));
        expect(loadErrors).toEqual([]);
        await sleep(1500);
        // select a file by typing its name, then open its context menu from the keyboard
        await desktop.type('raport');
        await sleep(800);
        await desktop.type('{Escape}');
        await sleep(300);
        await desktop.type('{Shift_L+F10}');
        await sleep(1200);
        await desktop.screenshot('nautilus-send-to.png');
        // from the first item, Up wraps to the last (Properties), once more to "Send to Pixel 7"
        await desktop.type('{Up}');
        await sleep(200);
        await desktop.type('{Up}');
        await sleep(200);
        await desktop.type('{Return}');
        const got = `${peerRecv}/raport (2).pdf`;
        await waitFor('the file sent from Nautilus', 20000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined)
            .catch(e => {
                throw new Error(`${e}\n${desktop.log.split('\n').filter(l => /ferry-nautilus|Traceback|python3?:|Error/.test(l)).slice(-30).join('\n')}`);
            });
        expect(await sha256(got)).toBe(await sha256(`${desktop.home}/raport.pdf`));
        const pythonErrors = desktop.log.split('\n').filter(l => /Traceback|ferry-nautilus.*(Error|error)|Error.*ferry-nautilus/.test(l));
        expect(pythonErrors).toEqual([]);
        await desktop.eval('globalThis.ferryTestNautilus.force_exit(); true');
    });

    it('keeps the shell\'s main loop ticking while it receives 1 GiB (figures recorded)', async () => {
        if (!ready())
            return;
        const src = `${peer.home}/big.bin`;
        await check(['sh', '-c', `head -c 1073741824 /dev/urandom > '${src}'`]);
        const ticking = async (work: () => Promise<void>): Promise<TickStats> => {
            expect(await desktop.eval('globalThis.ferryTest.startTicker()')).toBeTrue();
            await work();
            return await desktop.eval('globalThis.ferryTest.stopTicker()') as TickStats;
        };
        // References in the same run: the shell idle, and the same bytes received over TLS by a
        // separate process (Python's OpenSSL) in the desktop's namespace while the shell idles.
        const idle = await ticking(() => sleep(5000));
        const notifying = await ticking(async () => {
            expect(await desktop.eval('globalThis.ferryTest.notifyLikeProgress(10)')).toBeTrue();
            await sleep(10000);
        });
        const certs = `${peer.home}/ref-certs`;
        const [a, b] = [await makeCert(certs, 'a', 'ec'), await makeCert(certs, 'b', 'ec')];
        const refOut = `${desktop.home}/reference.bin`;
        let refSeconds = 0;
        const reference = await ticking(async () => {
            const receiving = run(['ip', 'netns', 'exec', hosts.nsA, 'python3', `${ROOT}/bench/tls_ref.py`, 'receive', '4444',
                refOut, a.cert, a.key, b.cert]);
            const t = GLib.get_monotonic_time();
            const r = await run(['ip', 'netns', 'exec', peer.ns, 'nice', '-n', '19', 'python3', `${ROOT}/bench/tls_ref.py`, 'send',
                hosts.ipA, '4444', src, b.cert, b.key, a.cert]);
            expect(r.status).withContext(r.stderr).toBe(0);
            expect((await receiving).status).toBe(0);
            refSeconds = (GLib.get_monotonic_time() - t) / 1e6;
        });
        expect(await sha256(refOut)).toBe(await sha256(src));
        await check(['rm', '-f', refOut]);
        // The peer stands for a phone: its CPU is not the desktop's. Both ends share this machine's
        // cores here, so the sender runs at the lowest priority and takes only the CPU time left.
        const got = `${desktop.home}/Downloads/big.bin`;
        const receiveTicking = async (): Promise<[TickStats, number]> => {
            let seconds = 0;
            const stats = await ticking(async () => {
                const t = GLib.get_monotonic_time();
                const sent = await run(['ip', 'netns', 'exec', peer.ns, 'nice', '-n', '19', FERRY, 'send', shellId, src], peer.env);
                seconds = (GLib.get_monotonic_time() - t) / 1e6;
                expect(sent.status).withContext(sent.stderr).toBe(0);
            });
            await waitFor('big.bin', 30000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined);
            expect(await sha256(got)).toBe(await sha256(src));
            await check(['rm', '-f', got]);
            return [stats, seconds];
        };
        const [stats, seconds] = await receiveTicking();
        // Once more at the speed of a fast phone on Wi-Fi 6: the peer's link shaped to 100 MB/s
        await check(['ip', 'netns', 'exec', peer.ns, 'tc', 'qdisc', 'add', 'dev', `${peer.ns}0`, 'root', 'tbf', 'rate', '800mbit',
            'burst', '256kb', 'latency', '50ms']);
        const [phone, phoneSeconds] = await receiveTicking()
            .finally(() => run(['ip', 'netns', 'exec', peer.ns, 'tc', 'qdisc', 'del', 'dev', `${peer.ns}0`, 'root']));
        for (const t of [idle, reference, stats, phone])
            expect(t.ticks).toBeGreaterThan(100);
        const f = (t: TickStats) => `p99 ${t.p99.toFixed(2)} ms, max ${t.max.toFixed(2)} ms (${t.ticks} ticks; ` +
            `main thread ${t.runMs.toFixed(0)} ms on a CPU, ${t.waitMs.toFixed(0)} ms waiting for one)`;
        const lines = [
            `GNOME Shell main loop, 1 GiB received over TLS from a sender at nice 19 (1 ms ticker, gap p99/max):`,
            `  Ferry in the shell:            ${f(stats)}, ${(1024 / seconds).toFixed(0)} MiB/s`,
            `  Ferry, peer's link at 100 MB/s: ${f(phone)}, ${(1024 / phoneSeconds).toFixed(0)} MiB/s`,
            `  OpenSSL in another process:    ${f(reference)}, ${(1024 / refSeconds).toFixed(0)} MiB/s`,
            `  idle:                          ${f(idle)}`,
            `  idle, a notification updated every 400 ms: ${f(notifying)}`,
            `  Ferry / other-process ratio:   p99 ${(stats.p99 / reference.p99).toFixed(2)}, max ${(stats.max / reference.max).toFixed(2)}` +
                ' (targets for Ferry: p99 ≤ 2 ms, max ≤ 8 ms)',
        ];
        for (const l of lines)
            print(`# ${l}`);
        GLib.file_set_contents(`${OUT}/main-loop.txt`, new TextEncoder().encode(`${lines.join('\n')}\n`));
        await check(['rm', '-f', src, got]);
    });

    it('cancels a running receive when disabled: no partial file, nothing under the final name', async () => {
        if (!ready())
            return;
        const src = `${peer.home}/interrupted.bin`;
        await check(['truncate', '-s', '2G', src]);
        const downloads = `${desktop.home}/Downloads`;
        const partials = async () => (await check(['ls', '-A', downloads])).split('\n').filter(n => n.endsWith('.partial'));
        // slowed down, so that the transfer is surely running when the extension goes
        const sending = run(['ip', 'netns', 'exec', peer.ns, 'nice', '-n', '19', FERRY, 'send', shellId, src], peer.env);
        await waitFor('the receive to be under way', 20000, async () => (await partials()).length > 0 || undefined);
        await sleep(300);
        await desktop.eval(`Main.extensionManager.lookup(${JSON.stringify(FERRY_UUID)}).stateObj.disable(); true`);
        const r = await sending;
        expect(r.status).withContext(r.stdout).toBe(6);
        await waitFor('the partial file to go', 10000, async () => (await partials()).length === 0 || undefined);
        expect(GLib.file_test(`${downloads}/interrupted.bin`, GLib.FileTest.EXISTS)).toBeFalse();
        await desktop.eval(`Main.extensionManager.lookup(${JSON.stringify(FERRY_UUID)}).stateObj.enable(); true`);
        await check(['rm', '-f', src]);
    });

    it('measures enable() and survives 50 disable/enable cycles with no leaked descriptors or errors', async () => {
        if (!ready())
            return;
        await sleep(1000);
        const baseline = await desktop.openFds();
        const uuid = JSON.stringify(FERRY_UUID);
        const timing = await desktop.eval(`(() => {
            const ext = Main.extensionManager.lookup(${uuid}).stateObj;
            const times = [];
            for (let i = 0; i < 5; i++) {
                ext.disable();
                const t0 = imports.gi.GLib.get_monotonic_time();
                ext.enable();
                times.push((imports.gi.GLib.get_monotonic_time() - t0) / 1000);
            }
            return times;
        })()`) as number[];
        const sorted = [...timing].sort((a, b) => a - b);
        print(`# enable() took ${sorted.map(t => t.toFixed(2)).join(', ')} ms (median ${sorted[2].toFixed(2)}; goal ≤ 10)`);
        GLib.file_set_contents(`${OUT}/enable-time.txt`, new TextEncoder().encode(`enable() ms: ${sorted.map(t => t.toFixed(2)).join(' ')}\n`));
        for (let i = 0; i < 50; i++) {
            await desktop.eval(`(() => { const e = Main.extensionManager.lookup(${uuid}).stateObj; e.disable(); e.enable(); return true; })()`);
            // every few cycles let the engine open its sockets before the next disable
            if (i % 5 === 4)
                await sleep(400);
        }
        expect(await desktop.extensionInfo(FERRY_UUID)).toEqual({state: 1, error: ''});
        await waitFor(`the shell's descriptors back at ${baseline}`, 15000, async () =>
            await desktop.openFds() <= baseline || undefined).catch(async e => {
            throw new Error(`${e}: ${await desktop.openFds()} open\n${await check(['ls', '-l', `/proc/${desktop.shellPid}/fd`])}`);
        });
        await waitFor('the engine to run again', 20000, async () =>
            /'state': <'running'>/.test(await ferryCall('GetIdentity').catch(() => '')) || undefined).catch(() => undefined);
        expect(desktop.ferryErrors()).toEqual([]);
        expect(await desktop.extensionErrors(FERRY_UUID)).toContain('@as []');
    });

    it('shows a device only multicast DNS finds, and one at an address added to its settings (screenshot)', async () => {
        if (!ready())
            return;
        const uuid = JSON.stringify(FERRY_UUID);
        const discoveredBy = async (name: string) => {
            const entry = (await ferryCall('ListDevices')).split(/\},\s*\{/).find(e => e.includes(`'name': <'${name}'>`));
            return /'discoveredBy': <'(\w*)'>/.exec(entry ?? '')?.[1];
        };
        const setAddresses = (list: string[]) => desktop.eval(`(() => { Main.extensionManager.lookup(${uuid}).stateObj.getSettings()
            .set_strv('device-addresses', ${JSON.stringify(list)}); return true; })()`);
        // one Ferry in the peer's namespace at a time: a datagram to its address reaches one of those that share UDP 1716
        await peer.stopServe();
        await hosts.block('broadcast');
        const tablet = new FerryNode(hosts.nsB, 'Tab S9');
        const laptop = new FerryNode(hosts.nsB, 'ThinkPad');
        try {
            await tablet.serve(['--type', 'tablet']);
            const found = await waitFor('Tab S9 in the menu', 30000, async () => (await menuDevices()).find(d => d.label.startsWith('Tab S9')));
            expect(found.label).toBe('Tab S9 — available');
            expect(await discoveredBy('Tab S9')).toBe('mdns');
            await tablet.stopServe();
            await hosts.block('multicast');
            // Ferry tells a device whose link dropped where it is, once, 1.5 s later (a unicast to
            // its address): let that pass before another device takes the address
            await sleep(3000);
            await laptop.serve();
            await sleep(5000);
            expect((await menuDevices()).some(d => d.label.startsWith('ThinkPad'))).toBeFalse();
            await setAddresses([hosts.ipB]);
            const added = await waitFor('ThinkPad in the menu', 20000, async () => (await menuDevices()).find(d => d.label.startsWith('ThinkPad')));
            expect(added.label).toBe('ThinkPad — available');
            expect(await discoveredBy('ThinkPad')).toBe('address');
            await desktop.eval(`Main.panel.statusArea[${uuid}].menu.open(false); true`);
            await sleep(500);
            await desktop.screenshot('menu-by-address.png');
            await desktop.eval(`Main.panel.statusArea[${uuid}].menu.close(false); true`);
            // with no device at all, the menu offers the way out (its own render of an empty list; the
            // next change of the engine draws the real one again)
            const empty = await desktop.eval(`(() => { const ind = Main.panel.statusArea[${uuid}];
                ind.render({state: 'running', stateMessage: '', devices: [], recent: [], busy: false});
                return ind.menu._getMenuItems().map(i => i.label?.text ?? ''); })()`) as string[];
            expect(empty).toContain('No devices yet. Open KDE Connect on your phone on the same network.');
            expect(empty).toContain('Add a device by address…');
            expect(desktop.ferryErrors()).toEqual([]);
        } finally {
            await setAddresses([]);
            await tablet.destroy();
            await laptop.destroy();
        }
    });

    it('steps aside and says so in its menu while GSConnect runs with the same identity (screenshot)', async () => {
        if (!ready())
            return;
        // GSConnect's identity in its usual place, and its service's bus name taken
        const gsc = `${desktop.home}/.config/gsconnect`;
        const cert = await makeCert(gsc, 'certificate', 'ec');
        await check(['mv', cert.key, `${gsc}/private.pem`]);
        await check(['mv', cert.cert, `${gsc}/certificate.pem`]);
        await check(['chown', '-R', '1000:1000', `${desktop.home}/.config`]);
        const owner = new Background(['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', PYTHON, '-c',
            'from gi.repository import Gio, GLib; Gio.bus_own_name(Gio.BusType.SESSION, "org.gnome.Shell.Extensions.GSConnect", 0, ' +
            'None, lambda *a: print("owned", flush=True), None); GLib.MainLoop().run()'], desktop.busEnv);
        try {
            await owner.waitForLine(/owned/, 10000);
            const uuid = JSON.stringify(FERRY_UUID);
            await desktop.eval(`(() => { const e = Main.extensionManager.lookup(${uuid}).stateObj; e.disable(); e.enable(); return true; })()`);
            // what the engine last said, and what the shell logged of Ferry, should it not (seen once in ~10 runs)
            let said = '';
            await waitFor('the engine to step aside', 15000, async () => {
                said = await ferryCall('GetIdentity').catch((e: unknown) => `no answer: ${e}`);
                return /'state': <'deferred'>/.test(said) || undefined;
            }).catch((e: unknown) => {
                const logged = desktop.log.split('\n').filter(l => /ferry/i.test(l)).slice(-20).join('\n');
                throw new Error(`${e}\nGetIdentity: ${said}\nthe shell's lines that name Ferry:\n${logged}`);
            });
            const labels = async () => await desktop.eval(`Main.panel.statusArea[${uuid}].menu._getMenuItems()
                .map(i => i.label?.text ?? '')`) as string[];
            const note = await waitFor('the menu to say so', 5000, async () =>
                (await labels()).find(l => l.startsWith('GSConnect is running')));
            expect(note).toContain('Ferry stands aside until it stops');
            await desktop.eval(`Main.panel.statusArea[${uuid}].menu.open(false); true`);
            await sleep(500);
            await desktop.screenshot('menu-gsconnect-running.png');
            await desktop.eval(`Main.panel.statusArea[${uuid}].menu.close(false); true`);
        } finally {
            await owner.stop();
        }
        // GSConnect gone: Ferry takes over with GSConnect's identity
        await waitFor('the engine to take over', 15000, async () =>
            /'state': <'running'>/.test(await ferryCall('GetIdentity').catch(() => '')) || undefined);
        expect(await ferryCall('GetIdentity')).toContain("'identitySource': <'gsconnect'>");
    });
});
}
