"""Many-file rows of `npm run bench`: batches of small and middle-sized files between two Ferry
engines (bench/node.ts on both sides, so both sides' per-file traces are on one clock: the
monotonic clock is the machine's, not the namespace's), between Ferry and kdeconnectd both ways,
and between two kdeconnectd. Every row's time runs from the sender's start to the moment the
last file is whole at the receiver, and every file is checked with SHA-256."""
import json, os, re, shutil, statistics, subprocess, time

import kde_peers, wire
from common import FERRY, IP_A, IP_B, ROOT, NS_A, NS_B, NS_C, NS_D, ferry_node, in_ns, netns_up, result_of, wait_line

IDEAL_PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ideal_peer.py')
IDEAL = 'protocol-only receiver'
IDEAL_TWO = IDEAL + ' (2 at once)'
# the same on Ferry's platform: GJS, GIO and glib-networking (bench/ideal_gio.ts)
IDEAL_GIO = 'GIO protocol-only receiver'
IDEAL_GIO_TWO = IDEAL_GIO + ' (2 at once)'
IDEAL_GIO_JS = os.path.join(ROOT, 'build/bench/ideal_gio.js')
IDEAL_GIO_SENDER = 'GIO protocol-only sender'
IDEAL_GIO_UNCONFIRMED = IDEAL_GIO_SENDER + ', unconfirmed'
BATCH_REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'batch_ref.py')

BATCHES = [('200 x 4 KiB', 200, 4 << 10), ('50 x 2 MiB', 50, 2 << 20)]


def make_batch(work, count, size):
    """Random files named so that each file's trace events share its name; returns (paths, digests)."""
    d = os.path.join(work, 'batch-%d-%d' % (count, size))
    os.makedirs(d, exist_ok=True)
    paths, digests = [], {}
    for i in range(count):
        p = os.path.join(d, 'f%d-%d-%04d.bin' % (count, size, i))
        with open(p, 'wb') as f:
            f.write(os.urandom(size))
        paths.append(p)
        digests[os.path.basename(p)] = kde_peers.sha256(p)
    return paths, digests


def check_arrived(folder, digests):
    """How many files arrived whole under their own names; everything in `folder` is removed."""
    ok = 0
    names = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    for name, digest in digests.items():
        if name in names and kde_peers.sha256(os.path.join(folder, name)) == digest:
            ok += 1
    for name in names:
        os.remove(os.path.join(folder, name))
    return ok


def wait_complete(folder, sizes, timeout=180):
    """The monotonic time at which every file of `sizes` is in `folder` at its full size and no KIO `.part` is left."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        names = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        if all(n in names for n in sizes) and not any(n.endswith('.part') for n in names):
            try:
                if all(os.path.getsize(os.path.join(folder, n)) >= s for n, s in sizes.items()):
                    return time.monotonic()
            except FileNotFoundError:
                pass
        time.sleep(0.002)
    raise RuntimeError('the batch did not arrive in %s within %d s' % (folder, timeout))


def row(label, count, size, seconds, arrived, **extra):
    r = {'label': label, 'files': count, 'arrived': arrived, 'seconds': seconds,
         'files_per_s': count / seconds, 'mbps': count * size / seconds / 1e6}
    r.update(extra)
    return r


def ferry_to_ferry(work, ids, paths, digests, size):
    """B's engine sends the batch to A's engine, both bench/node.ts: both sides traced."""
    recv = work + '/recvA'
    rx = ferry_node('receive', work, ids['B'], recv)
    tx = ferry_node('send', work, ids['A'], work + '/unused', paths, NS_B, 'B')
    wait_line(rx, 'ready')
    wait_line(tx, 'ready')
    r_rx, r_tx = result_of(rx), result_of(tx)
    return row('Ferry -> Ferry', len(paths), size, (r_rx['t_end_us'] - r_tx['t_start_us']) / 1e6,
               check_arrived(recv, digests), gap_ms=r_rx['gap_transfer_ms'], sender_gap_ms=r_tx['gap_transfer_ms'],
               cpu_ms=(r_rx['cpu_ms_per_file'], r_rx['main_thread_cpu_ms_per_file'], r_tx['cpu_ms_per_file'],
                       r_tx['main_thread_cpu_ms_per_file']), cpu_per_file=(r_rx['cpu_ms_per_file'], r_tx['cpu_ms_per_file']),
               breakdown=breakdown(r_rx['trace'], r_tx['trace']))


def ferry_to_kde(work, kde, paths, digests, size, label):
    node = ferry_node('send', work, kde.id, work + '/unused', paths)
    wait_line(node, 'ready', 60)
    c0 = kde.cpu_s()
    t1 = wait_complete(kde.home + '/Downloads', {os.path.basename(p): size for p in paths})
    rx_cpu = (kde.cpu_s() - c0) * 1000 / len(paths)
    r = result_of(node)
    return row('Ferry -> ' + label, len(paths), size, t1 - r['t_start_us'] / 1e6, check_arrived(kde.home + '/Downloads', digests),
               sender_state=r['state'], sender_gap_ms=r['gap_transfer_ms'], breakdown=breakdown(r['trace']),
               cpu_per_file=(rx_cpu, r['cpu_ms_per_file']))


def ideal_gio_to_kde(work, kde, ferry_id, paths, digests, size, label, confirm=True):
    """What a sender on Ferry's platform (bench/ideal_gio.ts send: GJS, GIO, glib-networking, each file confirmed by the
    receiver's close as Ferry's are; without `confirm`, the next file once the last byte is out, as kdeconnectd's sender
    does) gets into kdeconnectd, timed like ferry_to_kde."""
    flags = [] if confirm else ['--unconfirmed']
    proc = subprocess.Popen(in_ns(NS_A, 'gjs', '-m', IDEAL_GIO_JS, 'send', *flags, work + '/A', ferry_id, IP_B, *paths),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_line(proc, 'ready', 60)
        c0 = kde.cpu_s()
        t1 = wait_complete(kde.home + '/Downloads', {os.path.basename(p): size for p in paths})
        rx_cpu = (kde.cpu_s() - c0) * 1000 / len(paths)
        r = result_of(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return row((IDEAL_GIO_SENDER if confirm else IDEAL_GIO_UNCONFIRMED) + ' -> ' + label, len(paths), size, t1 - r['t_start_us'] / 1e6,
               check_arrived(kde.home + '/Downloads', digests), cpu_per_file=(rx_cpu, r['cpu_ms_per_file']))


def kde_share(kde, target_id, paths):
    """kdeconnectd shares `paths` as one batch (its share plugin's shareUrls, as Dolphin does; kdeconnect-cli
    takes one file). They are copied into the peer's HOME first, the only host folder a kdeconnectd in a
    root file system sees (outside the timed part: see the callers)."""
    urls = ', '.join("'file://%s'" % p for p in kde_copies(kde, paths))
    path = '/modules/kdeconnect/devices/%s/share' % re.sub(r'[^A-Za-z0-9_]', '_', target_id)
    subprocess.run(kde.wrap(['gdbus', 'call', '-e', '-d', 'org.kde.kdeconnect', '-o', path, '-m',
                             'org.kde.kdeconnect.device.share.shareUrls', '[%s]' % urls]), env=kde.env, check=True, capture_output=True)


def kde_copies(kde, paths):
    outbox = os.path.join(kde.home, 'outbox')
    copies = [os.path.join(outbox, os.path.basename(p)) for p in paths]
    if not all(os.path.exists(c) for c in copies):
        shutil.rmtree(outbox, ignore_errors=True)
        os.makedirs(outbox)
        for p, c in zip(paths, copies):
            shutil.copy2(p, c)
    return copies


def kde_to_ferry(work, kde, ferry_id, paths, digests, size, label):
    recv = work + '/recvA'
    node = ferry_node('receive', work, kde.id, recv, [str(len(paths))])
    kde_copies(kde, paths)
    wait_line(node, 'ready', 60)
    t0, c0 = time.monotonic(), kde.cpu_s()
    kde_share(kde, ferry_id, paths)
    r = result_of(node, int(os.environ.get('BENCH_BATCH_TIMEOUT', '600')))
    tx_cpu = (kde.cpu_s() - c0) * 1000 / len(paths)
    return row(label + ' -> Ferry', len(paths), size, r['t_end_us'] / 1e6 - t0, check_arrived(recv, digests),
               gap_ms=r['gap_transfer_ms'], breakdown=breakdown(r['trace']), cpu_per_file=(r['cpu_ms_per_file'], tx_cpu))


def ideal_receiver(work, ferry_id, count, *flags, gio=False):
    """bench/ideal_peer.py in NS_A with config A's identity (which every sender here trusts), linked to the sender in NS_B;
    with `gio`, bench/ideal_gio.ts, the same receiver on GJS and GIO."""
    program = ['gjs', '-m', IDEAL_GIO_JS] if gio else ['python3', IDEAL_PEER]
    return subprocess.Popen(in_ns(NS_A, *program, work + '/A', ferry_id, IP_B, work + '/recvIdeal', str(count), *flags),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ideal_result(proc):
    try:
        r = result_of(proc, int(os.environ.get('BENCH_BATCH_TIMEOUT', '600')))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if r['errors'] or not r['t_end_us']:
        raise RuntimeError('the protocol-only receiver failed: %s' % '; '.join(r['errors'][:5]))
    return r


def kde_to_ideal(work, kde, ferry_id, paths, digests, size, label, gio=False):
    """The sender's own pace: the same batch to the protocol-only receiver, timed like kde_to_ferry; with `gio`, to the
    one on Ferry's platform (the platform's own pace)."""
    proc = ideal_receiver(work, ferry_id, len(paths), gio=gio)
    try:
        kde_copies(kde, paths)
        wait_line(proc, 'ready', 60)
        kde_peers.Kde.wait(lambda: kde.dev(Named(ferry_id), 'prop', 'isReachable'), 30)
        t0, c0 = time.monotonic(), kde.cpu_s()
        kde_share(kde, ferry_id, paths)
    except BaseException:
        proc.kill()
        raise
    r = ideal_result(proc)
    tx_cpu = (kde.cpu_s() - c0) * 1000 / len(paths)
    # the GIO receiver's CPU per file (the Python one's threads are no measure of a platform)
    cpu = {'cpu_per_file': (r['cpu_ms_per_file'], tx_cpu)} if gio else {}
    return row(label + ' -> ' + (IDEAL_GIO if gio else IDEAL), len(paths), size, r['t_end_us'] / 1e6 - t0,
               check_arrived(work + '/recvIdeal', digests), breakdown=breakdown(r['trace']), **cpu)


def ferry_to_ideal(work, ids, paths, digests, size, at_once=1, gio=False):
    """Ferry's sender's own pace: B's engine sends the batch to the protocol-only receiver, timed like ferry_to_ferry;
    with at_once 2 the receiver says it fetches two files at once, as a Ferry does, and the sender overlaps them. With
    `gio`, to the one on Ferry's platform (bench/ideal_gio.ts, told it is a Ferry's sender): what Ferry's receiver
    would do if it were nothing but the protocol on GJS and GIO."""
    flags = ['--fetches', str(at_once)] if at_once > 1 or gio else []
    proc = ideal_receiver(work, ids['A'], len(paths), *flags, gio=gio)
    try:
        # the sender's engine links only once started, and it says `ready` only once linked
        tx = ferry_node('send', work, ids['A'], work + '/unused', paths, NS_B, 'B')
        wait_line(proc, 'ready', 60)
        wait_line(tx, 'ready')
        r_tx = result_of(tx)
    except BaseException:
        proc.kill()
        raise
    r = ideal_result(proc)
    receiver = IDEAL_GIO if gio else IDEAL
    cpu = {'cpu_per_file': (r['cpu_ms_per_file'], r_tx['cpu_ms_per_file'])} if gio else {}
    return row('Ferry -> ' + receiver + (' (2 at once)' if at_once > 1 else ''), len(paths), size,
               (r['t_end_us'] - r_tx['t_start_us']) / 1e6, check_arrived(work + '/recvIdeal', digests),
               sender_gap_ms=r_tx['gap_transfer_ms'], breakdown=breakdown(r['trace'], r_tx['trace']), **cpu)


def openssl_batch(work, paths, digests, size, depth, tls=True, port=1771):
    """The protocol's own pace (bench/batch_ref.py): an OpenSSL pair doing nothing but the KDE Connect way of sending
    files, NS_B to NS_A with the bench identities, `depth` files under way at once; without TLS (tls False) plain TCP,
    one connection per file."""
    out = work + '/recvRef'
    os.makedirs(out, exist_ok=True)
    a, b = work + '/A/', work + '/B/'
    creds = lambda own, peer: [own + 'certificate.pem', own + 'private.pem', peer + 'certificate.pem'] if tls else ['-', '-', '-']
    rx = subprocess.Popen(in_ns(NS_A, 'python3', BATCH_REF, 'receive', str(port), out, *creds(a, b)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_line(rx, 'ready', 20)
        tx = subprocess.run(in_ns(NS_B, 'python3', BATCH_REF, 'send', IP_A, str(port), str(depth), *creds(b, a), *paths),
                            capture_output=True, text=True, timeout=600)
        line = [l for l in tx.stdout.splitlines() if l.startswith('{')]
        if not line:
            raise RuntimeError('the OpenSSL batch pair failed: ' + (tx.stdout + tx.stderr)[-500:])
        rx.wait(timeout=60)
    finally:
        if rx.poll() is None:
            rx.kill()
            rx.wait()
    r = json.loads(line[0])
    return row(('OpenSSL pair, %d at once' if tls else 'plain TCP, a connection per file, %d at once') % depth, len(paths), size,
               r['seconds'], check_arrived(out, digests))


def kde_to_kde(sender, receiver, paths, digests, size, label):
    kde_copies(sender, paths)
    t0, tx0, rx0 = time.monotonic(), sender.cpu_s(), receiver.cpu_s()
    kde_share(sender, receiver.id, paths)
    t1 = wait_complete(receiver.home + '/Downloads', {os.path.basename(p): size for p in paths})
    cpu = ((receiver.cpu_s() - rx0) * 1000 / len(paths), (sender.cpu_s() - tx0) * 1000 / len(paths))
    return row(label, len(paths), size, t1 - t0, check_arrived(receiver.home + '/Downloads', digests), cpu_per_file=cpu)


class Named:
    def __init__(self, device_id):
        self.id = device_id


def pair_ferry_with(work, kde, ferry_id):
    """Pairs Ferry's config A with `kde` through a `ferry serve` in NS_A (the bench node then reuses the pairing)."""
    bus = work + '/busA'
    env = {**os.environ, 'HOME': work, 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=' + bus}
    daemon = subprocess.Popen(in_ns(NS_A, 'dbus-daemon', '--session', '--nofork', '--nopidfile', '--address=unix:path=' + bus),
                              stdout=subprocess.DEVNULL)
    serve = None
    try:
        kde_peers.Kde.wait(lambda: os.path.exists(bus), 5)
        serve = subprocess.Popen(in_ns(NS_A, FERRY, '--config-dir', work + '/A', '--name', 'Bench', 'serve', '--receive-dir', work + '/recvA'),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        wait_line(serve, 'state running')
        me = Named(ferry_id)
        kde_peers.Kde.wait(lambda: kde.dev(me, 'prop', 'isReachable'), 30)
        pairing = subprocess.Popen(in_ns(NS_A, FERRY, '--config-dir', work + '/A', 'pair', kde.id, '--wait', '30'),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        kde_peers.Kde.wait(lambda: kde.dev(me, 'prop', 'isPairRequestedByPeer' if kde.modern else 'hasPairingRequests'), 30)
        kde.dev(me, 'acceptPairing')
        out, _ = pairing.communicate(timeout=40)
        if pairing.returncode != 0:
            raise RuntimeError('pairing Ferry with %s failed: %s' % (kde.name, out))
    finally:
        for p in (serve, daemon):
            if p:
                p.terminate()
                p.wait(10)
        if os.path.exists(bus):
            os.remove(bus)


# One file's path, in order; offsets are from the sender's start on the file. Steps missing on
# one side (a kdeconnectd peer) are left out.
STEPS = [
    ('tx.start', 'sender: begins the file'),
    ('tx.listening', 'sender: file open, payload port listening'),
    ('tx.announced', 'sender: share request written to the link'),
    ('rx.announced', 'receiver: share request parsed'),
    ('rx.start', 'receiver: its queue reached the file'),
    ('rx.connected', 'receiver: TCP connected to the payload port'),
    ('tx.accepted', 'sender: connection accepted'),
    ('rx.partial', 'receiver: partial file created (meanwhile)'),
    ('tx.handshake', 'sender: TLS handshake done'),
    ('rx.handshake', 'receiver: TLS handshake done'),
    ('tx.lastByte', 'sender: splice done (last byte written)'),
    ('rx.lastByte', 'receiver: splice done (last byte in the file)'),
    ('rx.closed', 'receiver: payload connection closed'),
    ('tx.confirmed', 'sender: the receiver confirmed (closed)'),
    ('tx.done', 'sender: ready for the next file (pacing included)'),
    ('rx.fileClosed', 'receiver: partial file closed'),
    ('rx.renamed', 'receiver: renamed to the final name'),
    ('rx.done', 'receiver: modification time set, file counted'),
]


def breakdown(*traces):
    """Median and max ms of each step after the file's start, and the median period between files' starts."""
    by_file = {}
    for trace in traces:
        for event, key, us in trace or []:
            by_file.setdefault(key, {})[event] = us
    start = lambda ev: ev.get('tx.start', ev.get('rx.announced', min(ev.values())))
    files = sorted(by_file, key=lambda k: start(by_file[k]))
    offsets, periods = {}, []
    for i, k in enumerate(files):
        ev = by_file[k]
        for name, _ in STEPS:
            if name in ev:
                offsets.setdefault(name, []).append((ev[name] - start(ev)) / 1000)
        if i + 1 < len(files):
            periods.append((start(by_file[files[i + 1]]) - start(ev)) / 1000)
    steps = [(name, label, statistics.median(offsets[name]), max(offsets[name])) for name, label in STEPS if name in offsets]
    return {'steps': steps, 'period_ms': statistics.median(periods) if periods else None}


def print_breakdown(title, b):
    print('\n%s: one file, ms after its start (median, max over the batch); median period between files %.2f ms' % (
        title, b['period_ms'] or 0))
    print('| step | median ms | max ms | what |')
    print('|---|---|---|---|')
    for name, label, med, mx in b['steps']:
        print('| %s | %.2f | %.2f | %s |' % (name, med, mx, label))


# kdeconnectd pairs tried for the kdeconnectd -> kdeconnectd rows, in this order; those that link are measured
KDE_PAIRS = [('kdeconnectd 26.08', 'kdeconnectd 26.08'), ('kdeconnectd 22.12', 'kdeconnectd 26.08'),
             ('kdeconnectd 22.12', 'kdeconnectd 25.04'), ('kdeconnectd 25.04', 'kdeconnectd 26.08')]


def short(label):
    return label.replace('kdeconnectd ', 'kde ')


def measure(rows, key, runs, fn, tap=None):
    """`runs` runs of one row; a row that fails is reported and left out, never guessed. BENCH_ROWS (a regular
    expression) picks the rows to run, for looking at one of them. With `tap` (a namespace and the work folder) the
    last run is captured on the wire (on_the_wire)."""
    if not re.search(os.environ.get('BENCH_ROWS', ''), key):
        return
    got = []
    for i in range(runs):
        # the GiB files of the single-file part are still being written back: not on this row's time
        os.sync()
        try:
            r = on_the_wire(*tap, fn) if tap and i == runs - 1 else fn()
        except (RuntimeError, subprocess.SubprocessError) as e:
            print('%s: failed: %s' % (key, str(e)[-500:]), flush=True)
            break
        got.append(r)
        print('%s: %.1f files/s, %.1f MB/s, %d/%d arrived' % (key, r['files_per_s'], r['mbps'], r['arrived'], r['files']), flush=True)
    if got:
        rows[key] = got


WIRE = os.environ.get('BENCH_WIRE') != '0' and bool(shutil.which('tcpdump'))


def on_the_wire(ns, work, fn, payload_ports=wire.PAYLOAD_PORTS):
    """fn() captured on `ns`'s end of its veth pair (bench/wire.py), or fn() alone without tcpdump or with BENCH_WIRE=0."""
    return wire.capture_row(ns, ns + '0', work, fn, payload_ports) if WIRE else fn()


def small_files_tap(ns, work, size):
    """Where measure() captures a row: the small files only, the 2 MiB files' packets would cost the capture more
    than they tell."""
    return (ns, work) if size < (1 << 20) else None


HANDSHAKE_STACKS = {
    'glib-networking': lambda *a: ['gjs', '-m', os.path.join(ROOT, 'build/bench/handshakes.js'), *a],
    'OpenSSL': lambda *a: ['python3', os.path.join(ROOT, 'bench/handshakes.py'), *a],
}


def handshake_floor(work, n=200, port=1770):
    """Each TLS stack's cost of one small file with nothing around it (bench/handshakes.ts and .py): N sequential
    connections, NS_A connecting to NS_B, with the bench identities' certificates; every server/client pairing."""
    out = {}
    a, b = work + '/A/', work + '/B/'
    for server, serve in HANDSHAKE_STACKS.items():
        for client, conn in HANDSHAKE_STACKS.items():
            # the peer's certificate is for OpenSSL's server, which asks for the client's only when it checks it
            srv = subprocess.Popen(in_ns(NS_B, *serve('serve', str(port), str(n), b + 'certificate.pem', b + 'private.pem',
                                                      a + 'certificate.pem')),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                wait_line(srv, 'ready', 20)

                def connect():
                    r = subprocess.run(in_ns(NS_A, *conn('connect', IP_B, str(port), str(n), a + 'certificate.pem',
                                                         a + 'private.pem')), capture_output=True, text=True, timeout=120)
                    line = [l for l in r.stdout.splitlines() if l.startswith('{')]
                    if not line:
                        raise RuntimeError(r.stdout + r.stderr)
                    return json.loads(line[0])
                # on the wire too: which end each connection waited for, as in the batches' rows
                out[(server, client)] = on_the_wire(NS_A, work, connect, range(port, port + 1))
            except (RuntimeError, subprocess.SubprocessError) as e:
                print('handshakes, server %s, client %s: failed: %s' % (server, client, str(e)[-300:]), flush=True)
            finally:
                srv.kill()
                srv.wait()
    return out


def print_handshake_floor(floor):
    print('\nOne small file with nothing around it: TCP connect, mutual TLS handshake, 4 KiB, close; 200 in a row, medians')
    print('| server (sends) | client (receives) | ms per file | connected | handshake done | last byte | closed |')
    print('|---|---|---|---|---|---|---|')
    for (server, client), r in floor.items():
        m = r['median_ms']
        print('| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f |' % (server, client, r['ms_per_connection'], m['connected'],
              m['handshake'], m['lastByte'], m['closed']))
    for (server, client), r in floor.items():
        if r.get('wire'):
            wire.print_wire('Server %s, client %s' % (server, client), r['wire'], 1000 / r['ms_per_connection'])


def run_all(work, ids, kinds, runs, single):
    if not WIRE and os.environ.get('BENCH_WIRE') != '0':
        print('no rows of who the wire waited for: tcpdump is not installed (scripts/deps.sh bench)', flush=True)
    made = {label: make_batch(work, count, size) for label, count, size in BATCHES}
    floor = handshake_floor(work)
    results = {label: {} for label, _, _ in BATCHES}
    for label, count, size in BATCHES:
        paths, digests = made[label]
        tap = small_files_tap(NS_A, work, size)
        measure(results[label], 'Ferry -> Ferry', runs, lambda: ferry_to_ferry(work, ids, paths, digests, size), tap)
        measure(results[label], 'Ferry -> ' + IDEAL, runs, lambda: ferry_to_ideal(work, ids, paths, digests, size), tap)
        measure(results[label], 'Ferry -> ' + IDEAL_TWO, runs, lambda: ferry_to_ideal(work, ids, paths, digests, size, 2), tap)
        measure(results[label], 'Ferry -> ' + IDEAL_GIO_TWO, runs,
                lambda: ferry_to_ideal(work, ids, paths, digests, size, 2, gio=True), tap)
        for depth in (1, 2, 4):
            measure(results[label], 'OpenSSL pair, %d at once' % depth, runs,
                    lambda: openssl_batch(work, paths, digests, size, depth))
        measure(results[label], 'plain TCP, a connection per file, 1 at once', runs,
                lambda: openssl_batch(work, paths, digests, size, 1, tls=False))
    roots = dict(kinds)
    for kind, root in kinds:
        kde = kde_peers.Kde(NS_B, 'KDE', root)
        try:
            kde.start()
            pair_ferry_with(work, kde, ids['A'])
            for label, count, size in BATCHES:
                paths, digests = made[label]
                tap = small_files_tap(NS_A, work, size)
                measure(results[label], 'Ferry -> ' + short(kind), runs,
                        lambda: ferry_to_kde(work, kde, paths, digests, size, short(kind)), tap)
                measure(results[label], short(kind) + ' -> Ferry', runs,
                        lambda: kde_to_ferry(work, kde, ids['A'], paths, digests, size, short(kind)), tap)
                measure(results[label], '%s -> %s' % (short(kind), IDEAL), runs,
                        lambda: kde_to_ideal(work, kde, ids['A'], paths, digests, size, short(kind)), tap)
                measure(results[label], '%s -> %s' % (short(kind), IDEAL_GIO), runs,
                        lambda: kde_to_ideal(work, kde, ids['A'], paths, digests, size, short(kind), gio=True), tap)
                measure(results[label], '%s -> %s' % (IDEAL_GIO_SENDER, short(kind)), runs,
                        lambda: ideal_gio_to_kde(work, kde, ids['A'], paths, digests, size, short(kind)), tap)
                measure(results[label], '%s -> %s' % (IDEAL_GIO_UNCONFIRMED, short(kind)), runs,
                        lambda: ideal_gio_to_kde(work, kde, ids['A'], paths, digests, size, short(kind), False), tap)
        except (RuntimeError, subprocess.SubprocessError) as e:
            print('%s: no rows: %s' % (kind, e), flush=True)
        finally:
            kde.destroy()
    netns_up(NS_C, NS_D, '10.215.0.1', '10.215.0.2')
    for a, b in KDE_PAIRS:
        if a not in roots or b not in roots:
            continue
        sender, receiver = kde_peers.Kde(NS_C, 'Sender', roots[a]), kde_peers.Kde(NS_D, 'Receiver', roots[b])
        try:
            sender.start(); receiver.start()
            sender.pair_with(receiver)
            for label, count, size in BATCHES:
                paths, digests = made[label]
                tap = small_files_tap(NS_D, work, size)
                measure(results[label], '%s -> %s' % (short(a), short(b)), runs,
                        lambda: kde_to_kde(sender, receiver, paths, digests, size, '%s -> %s' % (short(a), short(b))), tap)
        except RuntimeError as e:
            # a pair that does not link (docs/interop.md, quirk 1) has no row
            print('%s -> %s: no rows: %s' % (a, b, e), flush=True)
        finally:
            sender.destroy(); receiver.destroy()
    report(results, single)
    print_handshake_floor(floor)
    return {label: {k: [{x: y for x, y in r.items() if x != 'breakdown'} for r in v] for k, v in rows.items()}
            for label, rows in results.items()}


def med(rows, key, field='files_per_s'):
    return statistics.median(r[field] for r in rows[key]) if key in rows else None


def ratio(a, b):
    return '%.2f' % (a / b) if a and b else 'n/a'


def against_kde(rows, kind, key, what, ferry_key=None, ferry_does=''):
    """One line for a reference row with kdeconnectd `kind`: its files/s against the kind -> kind row and, with
    `ferry_key`, Ferry's row against it."""
    ref = med(rows, key)
    if not ref:
        return
    line = '- %s: %.1f files/s, %s x the %s -> %s row' % (what, ref, ratio(ref, med(rows, '%s -> %s' % (kind, kind))), kind, kind)
    if ferry_key:
        line += '; Ferry %s: %s x that' % (ferry_does, ratio(med(rows, ferry_key), ref))
    print(line)


def report(results, single):
    for label, _, _ in BATCHES:
        rows = results[label]
        print('\n%s, medians' % label)
        print('| sender -> receiver | files/s [runs] | MB/s | main-loop gap p99 / max ms (Ferry receiver; sender) | every file whole |')
        print('|---|---|---|---|---|')
        for key, rs in rows.items():
            gaps = []
            for field in ('gap_ms', 'sender_gap_ms'):
                if field in rs[0]:
                    gaps.append('%.2f / %.2f' % (statistics.median(r[field]['p99'] for r in rs), max(r[field]['max'] for r in rs)))
            print('| %s | %.1f [%s] | %.1f | %s | %s |' % (key, med(rows, key), ', '.join('%.0f' % r['files_per_s'] for r in rs),
                  med(rows, key, 'mbps'), '; '.join(gaps) or '–', all(r['arrived'] == r['files'] for r in rs)))
        if 'Ferry -> Ferry' in rows:
            cpu = [statistics.median(r['cpu_ms'][i] for r in rows['Ferry -> Ferry']) for i in range(4)]
            print('- Ferry -> Ferry, CPU ms per file (all threads / main thread): receiver %.2f / %.2f, sender %.2f / %.2f; '
                  'wall ms per file %.2f (two cores: %.2f of CPU)' % (*cpu, 1000 / med(rows, 'Ferry -> Ferry'),
                                                                        2000 / med(rows, 'Ferry -> Ferry')))
        cpu_rows = [(key, rs) for key, rs in rows.items() if 'cpu_per_file' in rs[0]]
        if cpu_rows:
            # two cores for both processes: a receiver that costs more CPU per file leaves its sender less
            print('- CPU ms per file, every thread (receiver / sender; kdeconnectd\'s from /proc, KIO workers in its '
                  'process included): ' + '; '.join('%s %.2f / %.2f' % (key, statistics.median(r['cpu_per_file'][0] for r in rs),
                                                                       statistics.median(r['cpu_per_file'][1] for r in rs))
                                                    for key, rs in cpu_rows))
        ideal = med(rows, 'Ferry -> ' + IDEAL)
        if ideal:
            print('- Ferry sending, its own pace: the %s takes %.1f files/s; Ferry receiving: %s x, kde 26.08 receiving: %s x that' % (
                IDEAL, ideal, ratio(med(rows, 'Ferry -> Ferry'), ideal), ratio(med(rows, 'Ferry -> kde 26.08'), ideal)))
        platform = med(rows, 'Ferry -> ' + IDEAL_GIO_TWO)
        if platform:
            # the receive target with Ferry as the sender, against a receiver that does nothing but the protocol on
            # Ferry's platform, two files at once as Ferry's receiver: the part of it that Ferry's own receiver can win
            print('- Ferry sending to the %s: %.1f files/s, %s x Ferry -> kde 26.08; Ferry receiving: %s x that' % (
                IDEAL_GIO_TWO, platform, ratio(platform, med(rows, 'Ferry -> kde 26.08')),
                ratio(med(rows, 'Ferry -> Ferry'), platform)))
        for kind in ('kde 26.08', 'kde 25.04'):
            print('- Ferry receiving, sender Ferry: %s x %s; sender %s: %s x %s' % (
                ratio(med(rows, 'Ferry -> Ferry'), med(rows, 'Ferry -> ' + kind)), kind,
                kind, ratio(med(rows, kind + ' -> Ferry'), med(rows, '%s -> %s' % (kind, kind))), kind))
            print('- Ferry sending to %s: %s x the %s -> %s row (same receiver)' % (
                kind, ratio(med(rows, 'Ferry -> ' + kind), med(rows, '%s -> %s' % (kind, kind))), kind, kind))
            # what a peer doing nothing but the protocol got with this kdeconnectd in this run: on Ferry's platform
            # (GJS, GIO, glib-networking), what Ferry's own code can still win is between Ferry's row and that one
            against_kde(rows, kind, '%s -> %s' % (IDEAL_GIO_SENDER, kind), 'a sender on Ferry\'s platform into %s, the %s' % (
                kind, IDEAL_GIO_SENDER), 'Ferry -> ' + kind, 'sending')
            against_kde(rows, kind, '%s -> %s' % (IDEAL_GIO_UNCONFIRMED, kind),
                        'the same sender not waiting for the receiver\'s close (as kdeconnectd\'s does)')
            against_kde(rows, kind, '%s -> %s' % (kind, IDEAL), '%s sending, its own pace, to the %s (an estimate of what this '
                        'sender allows any receiver, not a bound)' % (kind, IDEAL), kind + ' -> Ferry', 'receiving')
            against_kde(rows, kind, '%s -> %s' % (kind, IDEAL_GIO), '%s sending to a receiver on Ferry\'s platform, the %s' % (
                kind, IDEAL_GIO), kind + ' -> Ferry', 'receiving')
        print('- Ferry -> Ferry: %s x the OpenSSL pair with as many files under way (2); Ferry -> %s: %s x the OpenSSL pair '
              'one at a time' % (ratio(med(rows, 'Ferry -> Ferry'), med(rows, 'OpenSSL pair, 2 at once')), IDEAL,
                                 ratio(med(rows, 'Ferry -> ' + IDEAL), med(rows, 'OpenSSL pair, 1 at once'))))
        if label.startswith('50') and single.get('rows'):
            one = statistics.median(r['mbps'] for r in single['rows']['receive'])
            print('- Ferry -> Ferry batch MB/s / single-file receive MB/s of this run: %s' % ratio(med(rows, 'Ferry -> Ferry', 'mbps'), one))
            ref = single.get('reference_mbps')
            for depth in (1, 2, 4):
                print('- the OpenSSL pair\'s batch, %d at once, MB/s / its single-file MB/s (the protocol\'s own ratio): %s' % (
                    depth, ratio(med(rows, 'OpenSSL pair, %d at once' % depth, 'mbps'), ref)))
            print('- plain TCP, a connection per file, one at a time, MB/s / plain TCP\'s single-file MB/s: %s' % ratio(
                med(rows, 'plain TCP, a connection per file, 1 at once', 'mbps'), single.get('plain_mbps')))
        if single.get('receive_gap_p99') and 'Ferry -> Ferry' in rows:
            p99 = statistics.median(r['gap_ms']['p99'] for r in rows['Ferry -> Ferry'])
            print('- main-loop gap p99 in the Ferry receiver: %.2f ms in the batch, %.2f ms in the single-file receive' % (
                p99, single['receive_gap_p99']))
        for key in ('Ferry -> Ferry', 'Ferry -> kde 26.08', 'kde 26.08 -> Ferry', 'Ferry -> ' + IDEAL, 'kde 26.08 -> ' + IDEAL,
                    'kde 26.08 -> ' + IDEAL_GIO):
            if key in rows and rows[key][-1].get('breakdown'):
                print_breakdown('%s, %s (last run)' % (label, key), rows[key][-1]['breakdown'])
        for key, rs in rows.items():
            if rs[-1].get('wire'):
                wire.print_wire('%s, %s (last run)' % (label, key), rs[-1]['wire'], rs[-1]['files_per_s'])
