#!/usr/bin/env python3
"""`npm run bench`: Ferry's receive and send throughput over a veth pair between two network
namespaces, against a blocking OpenSSL TLS pair (Python ssl) and plain TCP on the same wire, in
the same run; then batches of many files (bench/batches.py) between Ferry engines, Ferry and
kdeconnectd both ways, and two kdeconnectd.
Needs root (namespaces). Size: BENCH_SIZE_MB (default 1024); runs: BENCH_RUNS (default 3);
BENCH_KDE=0 leaves out the kdeconnectd rows, BENCH_KDE_OLD=1 adds those of the host's kdeconnectd 22.12;
BENCH_PARTS=single,batches (default both) picks the parts.
kdeconnectd 25.04 and 26.08 come from the roots in FERRY_TRIXIE_ROOT and FERRY_SID_ROOT (scripts/rig-root.sh)."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

import batches, kde_peers

from common import (FERRY, IP_A, NS_A, NS_B, NS_C, NS_D, RUNS, SIZE_MB, ROOT, ferry_node, identity, in_ns,
                    netns_down, netns_up, result_of, sh, sha, trust, wait_line)

def run_receive(work, id_b, env_b, src, digest):
    recv = work + '/recvA'
    node = ferry_node('receive', work, id_b, recv)
    wait_line(node, 'ready')
    sh(*in_ns(NS_B, FERRY, 'send', 'Bench', src), env=env_b)
    r = result_of(node)
    got = os.path.join(recv, 'src.bin')
    r['sha_ok'] = sha(got) == digest
    os.remove(got)
    return r

def run_send(work, id_b, recv_b, src, digest):
    node = ferry_node('send', work, id_b, work + '/unused', src)
    wait_line(node, 'ready')
    r = result_of(node)
    got = os.path.join(recv_b, 'src.bin')
    for _ in range(50):
        if os.path.exists(got):
            break
        time.sleep(0.1)
    r['sha_ok'] = sha(got) == digest
    os.remove(got)
    return r

def run_reference(work, certs, src, digest):
    out = work + '/ref.bin'
    ref = os.path.join(ROOT, 'bench', 'tls_ref.py')
    rx = subprocess.Popen(in_ns(NS_A, sys.executable, ref, 'receive', '17390', out, certs['A'][0], certs['A'][1], certs['B'][0]),
                          stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    sh(*in_ns(NS_B, sys.executable, ref, 'send', IP_A, '17390', src, certs['B'][0], certs['B'][1], certs['A'][0]))
    r = json.loads(rx.communicate(timeout=600)[0].strip())
    r['sha_ok'] = sha(out) == digest
    os.remove(out)
    return r

def run_plain(work, src, digest):
    out = work + '/plain.bin'
    ref = os.path.join(ROOT, 'bench', 'tls_ref.py')
    rx = subprocess.Popen(in_ns(NS_A, sys.executable, ref, 'plain-receive', '17391', out), stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    sh(*in_ns(NS_B, sys.executable, ref, 'plain-send', IP_A, '17391', src))
    r = json.loads(rx.communicate(timeout=600)[0].strip())
    r['sha_ok'] = sha(out) == digest
    os.remove(out)
    return r

def median(rows, key):
    return statistics.median(r[key] for r in rows)

def kde_rows(src, digest):
    """kdeconnectd -> kdeconnectd on the same file: with the Debian 13 and unstable roots, 22.12 -> 25.04 and
    22.12 -> 26.08 (and 22.12 -> 22.12 with BENCH_KDE_OLD=1).
    (25.04 -> 25.04 never links here: the TLS server side misses the client's encrypted identity,
    docs/interop.md quirk 1, so the sender never sees the receiver.)
    The receiver is restarted before each run (a long-running 22.12 receiver slows down, see docs)."""
    if not kde_peers.available() or os.environ.get('BENCH_KDE') == '0':
        return {}
    netns_up(NS_C, NS_D, '10.215.0.1', '10.215.0.2')
    rows = {}
    # 22.12 -> 22.12 only on request (BENCH_KDE_OLD=1): its receiver falls into a state of a few MB/s
    # that made one invocation take more than half an hour
    kinds = [('kdeconnectd 22.12 -> 22.12', None)] if os.environ.get('BENCH_KDE_OLD') == '1' else []
    for version, var in (('25.04', 'FERRY_TRIXIE_ROOT'), ('26.08', 'FERRY_SID_ROOT')):
        root = os.environ.get(var)
        if root and kde_peers.available(root):
            kinds.append(('kdeconnectd 22.12 -> ' + version, root))
    for label, root in kinds:
        sender, receiver = kde_peers.Kde(NS_C, 'Sender'), kde_peers.Kde(NS_D, 'Receiver', root)
        runs = []
        try:
            sender.start(); receiver.start()
            sender.pair_with(receiver)
            for _ in range(RUNS):
                receiver.stop(); receiver.start()
                kde_peers.Kde.wait(lambda: sender.dev(receiver, 'prop', 'isReachable'), 30)
                time.sleep(1)
                secs = sender.send_timed(receiver, src)
                runs.append((SIZE_MB << 20) / secs / 1e6)
                print('%s: %.0f MB/s' % (label, runs[-1]), flush=True)
        except RuntimeError as e:
            # one peer pair that will not link must not cost the rows already measured
            print('%s: failed after %d runs: %s' % (label, len(runs), e), flush=True)
        finally:
            sender.destroy(); receiver.destroy()
        if runs:
            rows[label] = runs
    return rows

PARTS = os.environ.get('BENCH_PARTS', 'single,batches').split(',')
KDE = os.environ.get('BENCH_KDE') != '0'


def kde_kinds():
    """The kdeconnectd versions this machine has: (label, root or None for the host's)."""
    kinds = []
    for label, var in (('kdeconnectd 26.08', 'FERRY_SID_ROOT'), ('kdeconnectd 25.04', 'FERRY_TRIXIE_ROOT')):
        root = os.environ.get(var)
        if root and kde_peers.available(root):
            kinds.append((label, root))
    # 22.12 takes a batch at its own pace (docs/interop.md, quirk 11) and once hung a run: on request only
    if kde_peers.available() and os.environ.get('BENCH_KDE_OLD') == '1':
        kinds.append(('kdeconnectd 22.12', None))
    return kinds


def single_file_rows(work, ids, certs, summary):
    src = work + '/src.bin'
    sh('sh', '-c', 'head -c %d /dev/urandom > %s' % (SIZE_MB << 20, src))
    digest = sha(src)
    env_b = {**os.environ, 'HOME': work, 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=%s/busB' % work}
    daemons = [subprocess.Popen(in_ns(NS_B, 'dbus-daemon', '--session', '--nofork', '--nopidfile',
                                      '--address=unix:path=%s/busB' % work), stdout=subprocess.DEVNULL)]
    try:
        time.sleep(0.3)
        recv_b = work + '/recvB'
        peer = subprocess.Popen(in_ns(NS_B, FERRY, '--config-dir', work + '/B', '--name', 'Peer', 'serve', '--receive-dir', recv_b),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_b)
        daemons.append(peer)
        wait_line(peer, 'state running')
        rows = {'receive': [], 'send': [], 'reference': [], 'plain': []}
        for i in range(RUNS):
            rows['plain'].append(run_plain(work, src, digest))
            rows['reference'].append(run_reference(work, certs, src, digest))
            rows['receive'].append(run_receive(work, ids['B'], env_b, src, digest))
            rows['send'].append(run_send(work, ids['B'], recv_b, src, digest))
            print('run %d: plain TCP %.0f MB/s, OpenSSL pair %.0f MB/s, receive %.0f MB/s, send %.0f MB/s' % (
                i + 1, rows['plain'][-1]['mbps'], rows['reference'][-1]['mbps'], rows['receive'][-1]['mbps'],
                rows['send'][-1]['mbps']), flush=True)
    finally:
        stop(daemons)
    ref, plain = median(rows['reference'], 'mbps'), median(rows['plain'], 'mbps')
    print('\n%d MiB over veth, %d runs, medians (sha256 verified: %s)' % (SIZE_MB, RUNS,
          all(r['sha_ok'] for v in rows.values() for r in v)))
    print('| direction | MB/s | ratio to OpenSSL pair | ratio to plain TCP | main-loop gap p50/p99/max ms (transfer) | gap max ms (setup: announce, connect, TLS handshake) | first byte after ms | peak RSS growth MiB | CPU s/GiB (main thread) |')
    print('|---|---|---|---|---|---|---|---|---|')
    print('| plain TCP (python, sendfile to 1 MiB reads, no TLS) | %.0f | %.2f | 1.00 | – | – | – | – | – |' % (plain, plain / ref))
    print('| OpenSSL pair (python ssl, blocking, 1 MiB writes) | %.0f | 1.00 | %.2f | – | – | – | – | – |' % (ref, ref / plain))
    summary.update({'size_mb': SIZE_MB, 'runs': RUNS, 'reference_mbps': ref, 'plain_mbps': plain, 'rows': rows})
    for d in ('receive', 'send'):
        rs = rows[d]
        mb = median(rs, 'mbps')
        p50 = statistics.median(r['gap_transfer_ms']['p50'] for r in rs)
        p99 = statistics.median(r['gap_transfer_ms']['p99'] for r in rs)
        mx = max(r['gap_transfer_ms']['max'] for r in rs)
        hs = max(r['gap_handshake_ms']['max'] for r in rs)
        summary[d + '_gap_p99'] = p99
        print('| Ferry %s | %.0f | %.2f | %.2f | %.2f / %.2f / %.2f | %.2f | %.1f | %.1f | %.2f (%.3f) |' % (
            d, mb, mb / ref, mb / plain, p50, p99, mx, hs, median(rs, 'handshake_ms'), max(r['rss_growth_mib'] for r in rs),
            median(rs, 'cpu_s_per_gib'), median(rs, 'main_thread_cpu_s_per_gib')))
    if KDE:
        kde = kde_rows(src, digest)
        summary['kdeconnectd'] = kde
        if kde:
            print('\n| kdeconnectd reference (same file, receiver restarted before each run) | MB/s median [runs] | Ferry receive / send ratio to it |')
            print('|---|---|---|')
            for label, runs in kde.items():
                m = statistics.median(runs)
                print('| %s | %.0f [%s] | %.1f / %.1f |' % (label, m, ', '.join('%.0f' % r for r in runs),
                      median(rows['receive'], 'mbps') / m, median(rows['send'], 'mbps') / m))
    os.remove(src)


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    if os.geteuid() != 0:
        sys.exit('npm run bench needs root: it runs Ferry in two network namespaces')
    work = tempfile.mkdtemp(prefix='ferry-bench-', dir='/var/tmp')
    summary = {}
    try:
        netns_up()
        for side in 'AB':
            os.makedirs(work + '/' + side)
        ids = {s: identity(work + '/' + s, work) for s in 'AB'}
        trust(work + '/A', ids['B'], work + '/B', 'Peer')
        trust(work + '/B', ids['A'], work + '/A', 'Bench')
        certs = {s: (work + '/%s/certificate.pem' % s, work + '/%s/private.pem' % s) for s in 'AB'}
        if 'single' in PARTS:
            single_file_rows(work, ids, certs, summary)
        if 'batches' in PARTS:
            summary['batches'] = batches.run_all(work, ids, kde_kinds() if KDE else [], RUNS, summary)
    finally:
        netns_down()
        shutil.rmtree(work, ignore_errors=True)
        with open(os.path.join(ROOT, 'bench', 'results.json'), 'w') as f:
            json.dump(summary, f, indent=1)

if __name__ == '__main__':
    main()
