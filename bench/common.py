"""What the parts of `npm run bench` share: the namespaces, Ferry's identities and processes."""
import json, os, subprocess, time

import kde_peers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRY = os.path.join(ROOT, 'bin', 'ferry')
SIZE_MB = int(os.environ.get('BENCH_SIZE_MB', '1024'))
RUNS = int(os.environ.get('BENCH_RUNS', '3'))
TAG = 'fb%d' % (os.getpid() % 10000)
NS_A, NS_B = TAG + 'a', TAG + 'b'
IP_A, IP_B = '10.214.0.1', '10.214.0.2'

def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout

NS_C, NS_D = TAG + 'c', TAG + 'd'

def netns_up(a=NS_A, b=NS_B, ip_a=IP_A, ip_b=IP_B):
    # a pair made by an earlier part of the same invocation (the single-file kdeconnectd rows use
    # the same names as the batches' kdeconnectd pair) is made anew
    for ns in (a, b):
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)
    sh('ip', 'netns', 'add', a); sh('ip', 'netns', 'add', b)
    sh('ip', 'link', 'add', a + '0', 'netns', a, 'type', 'veth', 'peer', 'name', b + '0', 'netns', b)
    for ns, ip in ((a, ip_a), (b, ip_b)):
        sh('ip', '-n', ns, 'addr', 'add', ip + '/24', 'dev', ns + '0')
        sh('ip', '-n', ns, 'link', 'set', 'lo', 'up'); sh('ip', '-n', ns, 'link', 'set', ns + '0', 'up')
        sh('ip', '-n', ns, 'route', 'add', 'default', 'dev', ns + '0')

def netns_down():
    for ns in (NS_A, NS_B, NS_C, NS_D):
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)

sha = kde_peers.sha256

def identity(config, home):
    return json.loads(sh(FERRY, '--config-dir', config, '--identity', 'ferry', 'id', '--json', env={**os.environ, 'HOME': home}))['id']

def trust(config, peer_id, peer_config, name):
    with open(os.path.join(peer_config, 'certificate.pem')) as f:
        pem = f.read()
    with open(os.path.join(config, 'devices.json'), 'w') as f:
        json.dump({'version': 1, 'revoked': {}, 'devices': {peer_id: {'name': name, 'type': 'desktop', 'certificatePem': pem, 'protocolVersion': 8}}}, f)

def in_ns(ns, *args):
    return ['ip', 'netns', 'exec', ns, *args]

def wait_line(proc, text, timeout=30):
    end = time.time() + timeout
    lines = []
    while time.time() < end:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise RuntimeError('no %r in output: %s' % (text, ''.join(lines)))

def ferry_node(role, work, peer_id, recv, src=None, ns=NS_A, side='A'):
    # a session bus of its own, on which the node exports Ferry's D-Bus API as the shell does
    args = in_ns(ns, 'dbus-run-session', '--', 'gjs', '-m', os.path.join(ROOT, 'build/bench/node.js'), role, work + '/' + side,
                 peer_id, recv)
    if src:
        args.extend([src] if isinstance(src, str) else src)
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, 'HOME': work})

def result_of(proc, timeout=600):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise RuntimeError('no result within %d s: %s' % (timeout, out[-3000:]))
    for line in out.splitlines():
        if line.startswith('{'):
            return json.loads(line)
    raise RuntimeError('no result: ' + out)
