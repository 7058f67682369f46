// The fault and abuse suite: a real `ferry serve` ("Victim") in one network namespace; in the
// other a paired Ferry ("Friend") and the scripted peer ("Evil", test/tools/peer.ts) that sends
// whatever a scenario says. Each case prints a "# " line with its figures; they are collected in
// build/test-output/faults.txt (and docs/reliability.md).
import GLib from 'gi://GLib';
import {pairBoth, requireRoot, waitDevice} from '../lib/ferry.js';
import {FerryNode, HostPair} from '../lib/netns.js';
import {ROOT, check, isRoot, run, sha256, sleep, waitFor} from '../lib/proc.js';
import {ScriptedPeer, fileStep} from '../lib/scriptedPeer.js';

const PYTHON = '/usr/bin/python3';
const OUT = GLib.getenv('FERRY_TEST_OUT') || `${ROOT}/build/test-output`;
const figures: string[] = [];

function report(line: string): void {
    print(`# ${line}`);
    figures.push(line);
}

interface Probe {
    calls: number;
    p50: number;
    p99: number;
    max: number;
}

async function procNumber(pid: number, field: string): Promise<number> {
    const status = await check(['cat', `/proc/${pid}/status`]);
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
}

async function openFds(pid: number): Promise<number> {
    return (await check(['ls', `/proc/${pid}/fd`])).split('\n').filter(Boolean).length;
}

describe('faults and abuse', () => {
    let hosts: HostPair;
    let victim: FerryNode, friend: FerryNode;
    let evil: ScriptedPeer;
    let recv: string, src: string;
    const originalTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;
    const ready = () => requireRoot(isRoot());

    const victimPid = () => victim.serveProc!.pid;
    const listing = async (dir = recv) => (await check(['ls', '-A', dir])).split('\n').filter(Boolean);
    const partials = async (dir = recv) => (await listing(dir)).filter(n => n.includes('.partial'));
    const victimLog = () => victim.serveProc?.output ?? '';
    /** No JS exceptions, criticals or unhandled rejections in the victim's output. */
    const crashes = () => victimLog().split('\n').filter(l => /JS ERROR|Gjs-CRITICAL|Unhandled promise|TypeError|ReferenceError/.test(l));
    const probe = async (seconds: number): Promise<Probe> => {
        const r = await run([PYTHON, `${ROOT}/test/faults/probe.py`, String(seconds)], victim.env);
        if (r.status !== 0)
            throw new Error(`probe failed: ${r.stderr}\nvictim:\n${victimLog().split('\n').slice(-60).join('\n')}`);
        return JSON.parse(r.stdout) as Probe;
    };
    /** The Victim's own main-loop gaps since the last call (its 1 ms ticker, read with SIGUSR1). */
    const mainLoop = async (): Promise<Probe> => {
        const reports = () => victim.serveProc!.lines.filter(l => / main loop: /.test(l));
        const before = reports().length;
        victim.serveProc!.signal(10); // SIGUSR1
        const line = await waitFor('the main-loop report', 5000, () => reports()[before]);
        const m = / (\d+) ticks, gap p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms/.exec(line);
        if (!m)
            throw new Error(`unreadable report: ${line}`);
        return {calls: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), max: Number(m[4])};
    };
    const gaps = (g: Probe) => `${g.p50}/${g.p99}/${g.max} (${g.calls} ticks)`;
    const settledFds = async (baseline: number) => {
        await waitFor(`the victim's descriptors back at ${baseline}`, 10000, async () =>
            await openFds(victimPid()) <= baseline || undefined).catch(async e => {
            throw new Error(`${e}: ${await openFds(victimPid())}\n${await check(['ls', '-l', `/proc/${victimPid()}/fd`])}`);
        });
    };
    const friendSends = async (path: string) => {
        const r = await friend.cli(['send', 'Victim', path]);
        expect(r.status).withContext(r.stderr).toBe(0);
        const got = `${recv}/${GLib.path_get_basename(path)}`;
        // the sender is done when the last byte left; the receiver then moves the file into place
        await waitFor(`${got}`, 10000, () => GLib.file_test(got, GLib.FileTest.EXISTS) || undefined);
        expect(await sha256(got)).toBe(await sha256(path));
        await check(['rm', '-f', got]);
    };

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = 240000;
        if (!isRoot())
            return;
        await check(['mkdir', '-p', OUT]);
        hosts = await HostPair.create();
        victim = new FerryNode(hosts.nsA, 'Victim');
        // its main-loop gaps on SIGUSR1, and SpiderMonkey's line for each full collection over 5 ms
        victim.serveEnv = {FERRY_MAIN_LOOP_REPORT: '1', JS_GC_PROFILE: '5'};
        friend = new FerryNode(hosts.nsB, 'Friend');
        recv = `${victim.home}/received`;
        src = `${friend.home}/src`;
        await check(['mkdir', '-p', recv, src]);
        evil = await ScriptedPeer.create(victim, hosts.nsB);
        await victim.serve(['--receive-dir', recv]);
        await friend.serve(['--receive-dir', `${friend.home}/in`]);
        await waitDevice(friend, 'Victim', 'reachable', 15000, d => d.reachable);
        await pairBoth(friend, victim);
        await check(['sh', '-c', `head -c 1000000 /dev/urandom > '${src}/small.bin'`]);
    }, 300000);

    afterAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = originalTimeout;
        if (figures.length)
            GLib.file_set_contents(`${OUT}/faults.txt`, new TextEncoder().encode(`${figures.join('\n')}\n`));
        await run(['umount', `${victim?.home}/full`]);
        await evil?.destroy();
        await friend?.destroy();
        await victim?.destroy();
        await hosts?.destroy();
    });

    it('gives up on a peer that sends a byte a second, and on one that stops without closing, small file or not', async () => {
        if (!ready())
            return;
        const t0 = GLib.get_monotonic_time();
        // the small ones (at most SMALL_PAYLOAD_BYTES) are copied on the main loop, not spliced: the same limits
        const out = await evil.run([
            fileStep('dribble.bin', 100000, 0, {behaviour: 'dribble'}),
            fileStep('stalled.bin', 1000000, 100000, {behaviour: 'stall'}),
            fileStep('dribble-small.bin', 4000, 0, {behaviour: 'dribble'}),
            fileStep('stalled-small.bin', 4000, 1000, {behaviour: 'stall'}),
            {waitMs: 500},
        ]);
        const seconds = (GLib.get_monotonic_time() - t0) / 1e6;
        for (const step of [0, 1, 2, 3])
            expect(out).toMatch(new RegExp(`step ${step} receiver gave up after \\d+ s`));
        const failure = (name: string) => victim.serveProc!.waitForLine(new RegExp(`receiving from Evil failed: ${name}\\.bin: `), 5000);
        const [dribble, stalled, dribbleSmall, stalledSmall] = await Promise.all(
            ['dribble', 'stalled', 'dribble-small', 'stalled-small'].map(failure));
        for (const line of [dribble, dribbleSmall])
            expect(line).toMatch(/the transfer stalled: only \d+ bytes in 15 s/);
        // silence trips the socket's own I/O time-out (10 s) or the stall watchdog, whichever is first
        for (const line of [stalled, stalledSmall])
            expect(line).toMatch(/the transfer stalled: no data for 15 s|Socket I\/O timed out/);
        expect(await listing()).toEqual([]);
        const why = (line: string) => line.replace(/^.*failed: [^:]*: /, '');
        report(`slow peers: a byte a second → "${why(dribble)}" (4 000 bytes: "${why(dribbleSmall)}"); 100 kB then silence → ` +
            `"${why(stalled)}" (1 000 of 4 000 bytes: "${why(stalledSmall)}"); ${seconds.toFixed(0)} s for all four, no partial file`);
    });

    it('fails a file cleanly when the disk is full, and the link stays usable', async () => {
        if (!ready())
            return;
        const full = `${victim.home}/full`;
        await check(['mkdir', '-p', full]);
        await check(['mount', '-t', 'tmpfs', '-o', 'size=16m', 'ferry-faults-full', full]);
        await victim.stopServe();
        await victim.serve(['--receive-dir', full]);
        await waitDevice(friend, 'Victim', 'reachable', 20000, d => d.paired && d.reachable);
        await check(['sh', '-c', `head -c 41943040 /dev/urandom > '${src}/too big.bin'`]);
        const r = await friend.cli(['send', 'Victim', `${src}/too big.bin`]);
        expect(r.status).toBe(6);
        const line = await victim.serveProc!.waitForLine(/receiving from Friend failed: too big\.bin: .*/, 10000);
        expect(line).toMatch(/No space left on device/);
        expect(await listing(full)).toEqual([]);
        // the link is still up, and a file that fits arrives
        const again = await friend.cli(['send', 'Victim', `${src}/small.bin`]);
        expect(again.status).withContext(again.stderr).toBe(0);
        await waitFor('small.bin', 10000, () => GLib.file_test(`${full}/small.bin`, GLib.FileTest.EXISTS) || undefined);
        expect(await sha256(`${full}/small.bin`)).toBe(await sha256(`${src}/small.bin`));
        report(`disk full (16 MiB tmpfs, 40 MiB file): "${line.replace(/^\S+ /, '')}"; nothing left in the folder; the next file arrived`);
        await victim.stopServe();
        await check(['umount', full]);
        await victim.serve(['--receive-dir', recv]);
        await waitDevice(friend, 'Victim', 'reachable', 20000, d => d.paired && d.reachable);
    });

    it('stays responsive under UDP and TCP floods, with memory bounded, and a paired device still gets through', async () => {
        if (!ready())
            return;
        await mainLoop();
        const idle = await probe(3);
        const idleTicks = await mainLoop();
        const rssBefore = await procNumber(victimPid(), 'VmRSS');
        const fdsBefore = await openFds(victimPid());
        const port = (await victim.json<{tcpPort: number}>(['id'])).tcpPort;
        await check(['sh', '-c', `head -c 20000000 /dev/urandom > '${src}/during flood.bin'`]);
        const udp = run(['ip', 'netns', 'exec', hosts.nsB, PYTHON, `${ROOT}/test/faults/flood.py`, 'udp', hosts.ipA, '10']);
        const tcp = run(['ip', 'netns', 'exec', hosts.nsB, PYTHON, `${ROOT}/test/faults/flood.py`, 'tcp', hosts.ipA, String(port), '300', '10']);
        const probing = probe(10);
        const bystanding = run([PYTHON, `${ROOT}/test/faults/bystander.py`, '3']);
        await sleep(3000);
        // the Victim's tick gaps in three windows: the floods alone (the first 3 s, with the 300
        // connections), while the paired device sends 20 MB (a transfer's own cost, see
        // docs/benchmarks.md), and the floods alone again until they end
        const gcBefore = victim.serveProc!.lines.length;
        const floodStart = await mainLoop();
        const bystander = JSON.parse((await bystanding).stdout) as Probe;
        const t = GLib.get_monotonic_time();
        await friendSends(`${src}/during flood.bin`);
        const sendSeconds = (GLib.get_monotonic_time() - t) / 1e6;
        const duringSend = await mainLoop();
        // the rest of the 10 s of UDP flood, with the same control
        const restSeconds = Math.max(1, 10 - 3 - sendSeconds - 0.5);
        const bystanderRest = JSON.parse((await run([PYTHON, `${ROOT}/test/faults/bystander.py`, restSeconds.toFixed(1)])).stdout) as Probe;
        const floodRest = await mainLoop();
        const [u, c, p] = [await udp, await tcp, await probing];
        // SpiderMonkey's own account of the full collections in those windows (JS_GC_PROFILE)
        const majorGCs = victim.serveProc!.lines.slice(gcBefore).filter(l => /^MajorGC:\s+\d/.test(l))
            .map(l => l.replace(/^MajorGC:\s+\d+\s+0x[0-9a-f]+\s+/, '').replace(/\s+/g, ' ').trim());
        expect(u.status).withContext(u.stderr).toBe(0);
        expect(c.status).withContext(c.stderr).toBe(0);
        const udpFigures = JSON.parse(u.stdout) as {udp_packets: number; device_ids: number};
        const tcpFigures = JSON.parse(c.stdout) as {tcp_opened: number; tcp_refused: number; tcp_closed_by_ferry: number};
        const rssAfter = await procNumber(victimPid(), 'VmRSS');
        expect(victim.serveProc!.running).toBeTrue();
        expect(crashes()).toEqual([]);
        expect(rssAfter - rssBefore).toBeLessThan(64 * 1024);
        // every half-open connection was closed by Ferry well within the 10 s it was held
        expect(tcpFigures.tcp_closed_by_ferry + tcpFigures.tcp_refused).toBe(300);
        await settledFds(fdsBefore);
        expect((await devicesOf(victim)).filter(d => !d.paired).length).toBeLessThanOrEqual(42);
        report(`floods for 10 s: ${udpFigures.udp_packets} UDP identity packets from ${udpFigures.device_ids} fake ids, ` +
            `${tcpFigures.tcp_opened} TCP connections that never finish (all closed by Ferry, ${tcpFigures.tcp_refused} refused); ` +
            `D-Bus round trip on the victim's main loop p50/p99/max ${p.p50.toFixed(2)}/${p.p99.toFixed(2)}/${p.max.toFixed(2)} ms ` +
            `(idle ${idle.p50.toFixed(2)}/${idle.p99.toFixed(2)}/${idle.max.toFixed(2)} ms); its own 1 ms ticker, gap p50/p99/max ms: ` +
            `floods ${gaps(floodStart)} then ${gaps(floodRest)}, floods and a 20 MB transfer ${gaps(duringSend)}, idle ${gaps(idleTicks)}; ` +
            `an unrelated process's 1 ms sleep loop in the same flood windows: ${gaps(bystander)} then ${gaps(bystanderRest)}; ` +
            `gjs full collections meanwhile (seconds since start, reason, …, total ms …): ${majorGCs.join(' | ') || 'none'}; RSS ${Math.round(rssBefore / 1024)} → ` +
            `${Math.round(rssAfter / 1024)} MiB; a paired device sent 20 MB during the flood in ${sendSeconds.toFixed(1)} s`);
    });

    it('stays responsive under a multicast DNS flood, and tells no flood of fake devices its identity', async () => {
        if (!ready())
            return;
        const rssBefore = await procNumber(victimPid(), 'VmRSS');
        const linesBefore = victim.serveProc!.lines.length;
        const flooding = run(['ip', 'netns', 'exec', hosts.nsB, PYTHON, `${ROOT}/test/faults/flood.py`, 'mdns', '6']);
        const p = await probe(6);
        const f = await flooding;
        expect(f.status).withContext(f.stderr).toBe(0);
        const figures = JSON.parse(f.stdout) as {mdns_packets: number; unicast_answers: number};
        // the victim logs each identity it sends to a device multicast DNS named (the Friend's Ferry holds
        // UDP 1716 in the attacker's namespace, so they cannot be counted there)
        const told = victim.serveProc!.lines.slice(linesBefore).filter(l => /multicast DNS found \w+ at /.test(l)).length;
        expect(victim.serveProc!.running).toBeTrue();
        expect(crashes()).toEqual([]);
        expect(await procNumber(victimPid(), 'VmRSS') - rssBefore).toBeLessThan(32 * 1024);
        // a third of the flood announced a fresh fake device each: thousands; each device reported costs a
        // datagram to its address, at most 10 at once and 2 a second after (8 s: the flood, its drain, slack)
        expect(figures.mdns_packets).toBeGreaterThan(1000);
        expect(told).toBeGreaterThan(0);
        expect(told).toBeLessThanOrEqual(10 + 2 * 8);
        expect(figures.unicast_answers).toBeLessThanOrEqual(20 + 5 * 8);
        report(`multicast DNS flood for 6 s: ${figures.mdns_packets} messages (fake announcements, QU queries from fresh ports, ` +
            `compression loops); Ferry answered ${figures.unicast_answers} of the queries and sent ${told} identities to ` +
            `fake devices; D-Bus round trip on the victim's main loop p50/p99/max ${p.p50.toFixed(2)}/${p.p99.toFixed(2)}/${p.max.toFixed(2)} ms`);
    });

    it('reports a receive folder removed during a transfer, loses nothing, and recovers', async () => {
        if (!ready())
            return;
        // removed while a file is on its way
        await check(['sh', '-c', `head -c 209715200 /dev/urandom > '${src}/removed.bin'`]);
        const sum = await sha256(`${src}/removed.bin`);
        const sending = friend.cli(['send', 'Victim', `${src}/removed.bin`]);
        await waitFor('the partial file', 10000, async () => (await partials()).length > 0 || undefined);
        await check(['rm', '-rf', recv]);
        // the sender may well have sent every byte before the receiver found its folder gone
        await sending;
        const removed = await victim.serveProc!.waitForLine(/receiving from Friend failed: removed\.bin: .*/, 10000);
        expect(removed).toMatch(/the receive folder .*\/received disappeared during the transfer \(No such file or directory\)/);
        // nothing lost: the sender's file is untouched, nothing landed anywhere else
        expect(await sha256(`${src}/removed.bin`)).toBe(sum);
        expect(await listing(victim.home)).not.toContain('removed.bin');
        // the folder comes back with the next file
        await friendSends(`${src}/small.bin`);
        report(`receive folder removed mid-transfer → ` +
            `"${removed.replace(/^.*failed: /, '')}"; the sender's files intact; the next file recreated the folder`);
    });

    it('refuses a file clearly when the receive folder is not writable, and receives again once it is', async () => {
        if (!ready())
            return;
        // read-only inside the Victim's own mount namespace (`ip netns exec` gave it one, so a
        // mount made out here would not reach it), as a full or locked-down disk would be
        const inVictim = (cmd: string) => check(['nsenter', '--target', String(victimPid()), '--mount', '--', 'sh', '-c', cmd]);
        await friendSends(`${src}/small.bin`);
        await inVictim(`mount --bind '${recv}' '${recv}' && mount -o remount,bind,ro '${recv}'`);
        let line: string;
        try {
            await check(['sh', '-c', `head -c 300000 /dev/urandom > '${src}/locked.bin'`]);
            const t = GLib.get_monotonic_time();
            const r = await friend.cli(['send', 'Victim', `${src}/locked.bin`]);
            const seconds = (GLib.get_monotonic_time() - t) / 1e6;
            // the sender learns at once that the file did not arrive (not after a 30 s fetch time-out)
            expect(r.status).withContext(r.stdout + r.stderr).toBe(6);
            expect(seconds).withContext('seconds until the sender was told').toBeLessThan(15);
            line = await victim.serveProc!.waitForLine(/receiving from Friend failed: locked\.bin: .*/, 10000);
            expect(line).toMatch(/locked\.bin: cannot write in the receive folder .*\/received: Read-only file system$/);
            expect(await listing()).toEqual([]);
        } finally {
            await inVictim(`umount '${recv}'`);
        }
        await friendSends(`${src}/locked.bin`);
        report(`receive folder read-only → "${line.replace(/^.*failed: /, '')}"; the sender told; nothing in the folder; ` +
            'the same file arrived once it was writable');
    });

    it('loses nothing and leaks nothing when a peer dies at 50 points of a transfer, and the peer comes back each time', async () => {
        if (!ready())
            return;
        const fdsBefore = await openFds(victimPid());
        const port = (await victim.json<{tcpPort: number}>(['id'])).tcpPort;
        const SIZE = 2 * 1024 * 1024;
        const expectedSum = async (n: number) => (await check(['sh', '-c', `head -c ${n} /dev/zero | tr '\\0' a | sha256sum | cut -d' ' -f1`])).trim();
        const fullSum = await expectedSum(SIZE);
        // a seeded generator, so that a failing run can be replayed
        let seed = 20261129;
        const random = () => {
            seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
            return seed / 4294967296;
        };
        const evilState = async () => (await victim.json<{id: string; reachable: boolean}[]>(['devices', '--wait', '0']))
            .find(d => d.id === evil.id);
        const phases = ['identity', 'handshake', 'announcement', 'payload', 'between files'] as const;
        const tally = new Map<string, number>();
        const offsets: number[] = [];
        let keptFirstFiles = 0;
        const t0 = GLib.get_monotonic_time();
        for (let i = 0; i < 50; i++) {
            const phase = phases[i % phases.length];
            const name = `died-${i}.bin`;
            if (phase === 'identity' || phase === 'handshake') {
                const r = await run(['ip', 'netns', 'exec', hosts.nsB, PYTHON, `${ROOT}/test/faults/early_death.py`, phase,
                    hosts.ipA, String(port), evil.id]);
                expect(r.status).withContext(`run ${i} (${phase}): ${r.stderr}`).toBe(137);
                expect(r.stdout).toContain(`"phase": "${phase}"`);
            } else {
                let steps;
                if (phase === 'announcement') {
                    const line = JSON.stringify({id: 1, type: 'kdeconnect.share.request',
                        body: {filename: name, numberOfFiles: 1, totalPayloadSize: SIZE}, payloadSize: SIZE, payloadTransferInfo: {port: 1739}});
                    steps = [{partial: line.slice(0, 1 + Math.floor(random() * (line.length - 1))), die: true}];
                } else if (phase === 'payload') {
                    // the edges as well as random offsets
                    const edges = [0, 1, 65536, SIZE - 1];
                    const offset = i < 20 ? edges[Math.floor(i / 5)] : Math.floor(random() * SIZE);
                    offsets.push(offset);
                    steps = [fileStep(name, SIZE, offset, {behaviour: 'die'})];
                } else {
                    const first = Math.floor(random() * 100000) + 1;
                    steps = [{packet: {type: 'kdeconnect.share.request', body: {filename: `first-${name}`, numberOfFiles: 3,
                        totalPayloadSize: first + 2 * SIZE}, payloadSize: first}, payload: {send: first, behaviour: 'close'}},
                    {waitMs: Math.floor(random() * 300)}, {die: true}];
                    const out = await evil.run(steps).catch(e => String(e));
                    expect(out).withContext(`run ${i}`).toMatch(/exited 137|dying at/);
                    const kept = `${recv}/first-${name}`;
                    await waitFor(kept, 10000, () => GLib.file_test(kept, GLib.FileTest.EXISTS) || undefined);
                    expect(await sha256(kept)).withContext(`run ${i}: the complete first file`).toBe(await expectedSum(first));
                    await check(['rm', '-f', kept]);
                    keptFirstFiles++;
                    steps = null;
                }
                if (steps) {
                    const out = await evil.run(steps).catch(e => String(e));
                    expect(out).withContext(`run ${i}`).toMatch(/exited 137/);
                }
            }
            tally.set(phase, (tally.get(phase) ?? 0) + 1);
            // the Victim notices, cleans up, and keeps nothing incomplete
            await waitFor(`run ${i}: Evil gone from the Victim's links`, 10000, async () => !(await evilState())?.reachable || undefined);
            await waitFor(`run ${i}: no partial file`, 10000, async () => (await partials()).length === 0 || undefined);
            const left = await listing();
            if (phase === 'payload' && left.includes(name)) {
                // the peer died after its last byte: Ferry has the whole file, nothing less
                expect(await sha256(`${recv}/${name}`)).withContext(`run ${i}`).toBe(fullSum);
                await check(['rm', '-f', `${recv}/${name}`]);
            } else {
                expect(left).withContext(`run ${i} (${phase})`).toEqual([]);
            }
            if (phase === 'payload')
                await victim.serveProc!.waitForLine(new RegExp(`receiving from Evil failed: ${name.replace('.', '\\.')}: `), 10000);
        }
        const seconds = (GLib.get_monotonic_time() - t0) / 1e6;
        expect(victim.serveProc!.running).toBeTrue();
        expect(crashes()).toEqual([]);
        await settledFds(fdsBefore);
        // and the peer that died 50 times sends a whole file
        const out = await evil.run([fileStep('alive.bin', SIZE), {waitMs: 300}]);
        expect(out).toContain('step 0 closed');
        await waitFor('alive.bin', 10000, () => GLib.file_test(`${recv}/alive.bin`, GLib.FileTest.EXISTS) || undefined);
        expect(await sha256(`${recv}/alive.bin`)).toBe(fullSum);
        await check(['rm', '-f', `${recv}/alive.bin`]);
        report(`peer deaths: 50 SIGKILLs in ${seconds.toFixed(0)} s (${[...tally].map(([k, v]) => `${v} ${k}`).join(', ')}; payload offsets ` +
            `${offsets.sort((a, b) => a - b).join(', ')} of ${SIZE}); no partial file, nothing incomplete under a final name, ` +
            `${keptFirstFiles} complete first files of a batch kept; descriptors back to ${fdsBefore}; the peer reconnected every time and sent a whole file`);
    });

    it('survives 100 800 generated and mutated packets from a paired device over real TLS links, then more from a stranger, with memory bounded', async () => {
        if (!ready())
            return;
        // The Victim runs on Debian 13's gjs 1.84 and GLib 2.84 here (GNOME Shell 48's): gjs
        // before 1.82 drops async callbacks under this much garbage ("Attempting to run a JS
        // callback during garbage collection"), which stalls a link's reads until the peer gives
        // up (docs/reliability.md).
        const trixie = GLib.getenv('FERRY_TRIXIE_ROOT');
        if (!trixie) {
            if (GLib.getenv('CI'))
                fail('FERRY_TRIXIE_ROOT is not set: the fuzzing needs the Debian 13 root (scripts/rig-root.sh trixie)');
            else
                pending('FERRY_TRIXIE_ROOT is not set (scripts/test.sh sets it)');
            return;
        }
        await victim.stopServe();
        victim.root = trixie;
        await victim.serve(['--receive-dir', recv]);
        await waitDevice(friend, 'Victim', 'reachable', 20000, d => d.paired && d.reachable);
        const logLinesBefore = victimLog().split('\n').length;
        const rssBefore = await procNumber(victimPid(), 'VmRSS');
        const fdsBefore = await openFds(victimPid());
        const t0 = GLib.get_monotonic_time();
        // Fourteen scripted peers of 7 200 packets each as a paired device, and a fifteenth that
        // may unpair itself, each on a fresh link and in a fresh process: the scripted peer runs
        // on Debian 12's gjs 1.74, which stalls when a single process allocates this much (see
        // docs/reliability.md).
        const runs = 15, perRun = 7200;
        let sent = 0;
        const stops: string[] = [];
        const rssAfterRun: number[] = [];
        for (let i = 0; i < runs; i++) {
            // the last run may unpair Evil with a {"pair":false}: from then on it is a stranger
            const out = await evil.run([{fuzz: {count: perRun, seed: 20261125 + i, unpair: i === runs - 1}}, {waitMs: 500}])
                .catch(e => {
                    throw new Error(`fuzz run ${i}: ${e}\nthe victim's last lines:\n${victimLog().split('\n').slice(-60).join('\n')}`);
                });
            sent += Number(/fuzz sent (\d+) packets/.exec(out)?.[1] ?? 0);
            const stop = /fuzz stopped: (.*)/.exec(out)?.[1];
            if (stop)
                stops.push(stop);
            rssAfterRun.push(await procNumber(victimPid(), 'VmRSS'));
        }
        const seconds = (GLib.get_monotonic_time() - t0) / 1e6;
        const stopped = stops.join('; ');
        // what a peer causes once per refused or malformed packet is throttled: the journal (and
        // whoever reads the output) gets a handful of lines per kind, not one per packet; what
        // was delivered (empty files, text) is still reported, each
        const newLines = victimLog().split('\n').slice(logLinesBefore);
        const logLines = newLines.length;
        const perPacket = newLines.filter(l => /ignored a malformed packet|refused a share request|from an unpaired device|pair packet without/.test(l)).length;
        expect(perPacket).toBeLessThan(400);
        const tail = () => victimLog().split('\n').slice(-40).join('\n');
        expect(sent).withContext(tail()).toBeGreaterThanOrEqual((runs - 1) * perRun);
        expect(stops.length).withContext(stopped).toBeLessThanOrEqual(1);
        if (stops.length)
            expect(/disconnected Evil \(\w+\): line exceeds the limit of 65536 bytes/.test(victimLog()))
                .withContext(`${stopped}; the victim about Evil:\n${victimLog().split('\n').filter(l => /Evil/.test(l)).slice(-25).join('\n')}`)
                .toBeTrue();
        // bounded, though high: the engine's heap grows while the collector sizes itself and levels
        // off at 330-390 MiB here (see docs/reliability.md); a leak per packet would pass 448 MiB
        const rssPeak = await procNumber(victimPid(), 'VmHWM');
        expect(rssPeak).withContext(`RSS after each run: ${rssAfterRun.join(', ')} KiB`).toBeLessThan(448 * 1024);
        await settledFds(fdsBefore);
        expect(await partials()).toEqual([]);
        // shares of files without a payload are empty files by the protocol: that is all that may be here
        const created = await listing();
        const sizes = created.length ? (await check(['sh', '-c', `cd '${recv}' && stat -c %s -- *`])).split('\n').filter(Boolean) : [];
        expect(sizes.every(n => n === '0')).withContext(created.join(', ')).toBeTrue();
        await check(['sh', '-c', `rm -f '${recv}'/*`]);
        // and a real device still gets through (Evil may well have unpaired itself: it comes last)
        await friendSends(`${src}/small.bin`);
        report(`fuzz: ${sent} packets in ${seconds.toFixed(1)} s${stopped ? ` (link closed by Ferry: ${stopped})` : ''}, ` +
            `${created.length} empty files from shares without a payload, ` +
            `victim alive, 0 uncaught exceptions, RSS ${Math.round(rssBefore / 1024)} MiB before, after each run ` +
            `${rssAfterRun.map(k => Math.round(k / 1024)).join('/')} MiB (peak ${Math.round(rssPeak / 1024)}), ` +
            `descriptors back to ${fdsBefore}; ${logLines} log lines, ${perPacket} of them about refused or malformed packets`);
    });
});

async function devicesOf(node: FerryNode): Promise<{paired: boolean}[]> {
    return node.json<{paired: boolean}[]>(['devices', '--wait', '0']);
}
