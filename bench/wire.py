"""Who the wire waited for: a packet capture of a many-file row, split into the sender's time and the
receiver's time.

`tcpdump` records the TCP headers (no payload) on one end of the veth pair while a batch goes over it.
Every file of the KDE Connect protocol is a chain of acts that alternate between the two ends: the
sender announces the file on the link, the receiver connects to the payload port, the TLS flights go
back and forth (ClientHello from the receiver, the server's flight from the sender, the client's
certificate and Finished from the receiver), the sender writes the bytes, the receiver closes, and the
sender announces the next file. A packet is the moment its end finished an act, so the time between
a packet and the packet that follows it in the chain was spent by the end that sent the second one
(or by the kernel, for the SYN-ACK, and by the wire: the veth adds microseconds).

The walk goes backwards from the batch's last packet along that chain: inside a payload connection
to the packet before; from a connection's SYN to the announcement of its file; from an announcement to
the last packet on the wire before it (what the sender waited for). Every microsecond from the first
announcement to the last packet is given to one end, so the sum is the batch's time, and the
sender's part is what any receiver would have waited for with that sender, one file at a time. Two
limits: both ends share the machine's cores, so an end's act includes waiting for a core the other
end held; and with files under way at once (Ferry to Ferry) the chain is the critical path only,
while one at a time it is exact. Needs tcpdump (scripts/deps.sh bench); BENCH_WIRE=0 leaves it out."""
import bisect, os, signal, struct, subprocess, time

LINK_PORTS = range(1716, 1739)
PAYLOAD_PORTS = range(1739, 1765)
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


class Capture:
    """tcpdump in namespace `ns` on interface `iface`, writing TCP headers to `path` until stop()."""

    def __init__(self, ns, iface, path):
        self.path = path
        self.proc = subprocess.Popen(['ip', 'netns', 'exec', ns, 'tcpdump', '-i', iface, '-s', '96', '-B', '8192', '-n',
                                      '-w', path, 'tcp'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if 'listening' not in line:
            self.proc.kill()
            raise RuntimeError('tcpdump did not start: ' + line + self.proc.stderr.read())

    def stop(self):
        """Stops the capture; returns how many packets the kernel dropped (the analysis is void unless 0)."""
        # the kernel hands packets to tcpdump a block at a time, and a block is let go after a second: a capture
        # stopped sooner lost the batch's end (found: 107 of 200 files)
        time.sleep(1.2)
        self.proc.send_signal(signal.SIGINT)
        err = self.proc.communicate(timeout=20)[1]
        dropped = [int(l.split()[0]) for l in err.splitlines() if 'dropped by kernel' in l]
        return dropped[0] if dropped else None


def read_pcap(path):
    """(seconds, (src ip, port), (dst ip, port), TCP flags, payload bytes) of each IPv4 TCP packet."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        raise RuntimeError('not a little-endian pcap file: %s' % path)
    scale = 1e-6 if magic == 0xa1b2c3d4 else 1e-9
    if struct.unpack('<I', data[20:24])[0] != 1:
        raise RuntimeError('not an Ethernet capture')
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack('<IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 54 or pkt[12:14] != b'\x08\x00' or pkt[23] != 6:
            continue
        ihl = (pkt[14] & 0x0f) * 4
        total = struct.unpack('>H', pkt[16:18])[0]
        tcp = 14 + ihl
        sport, dport = struct.unpack('>HH', pkt[tcp:tcp + 4])
        doff = (pkt[tcp + 12] >> 4) * 4
        src, dst = '.'.join(map(str, pkt[26:30])), '.'.join(map(str, pkt[30:34]))
        out.append((sec + frac * scale, (src, sport), (dst, dport), pkt[tcp + 13], total - ihl - doff))
    return out


class Event:
    def __init__(self, t, side, stage):
        self.t, self.side, self.stage = t, side, stage
        self.prev = None


def chains(packets, payload_ports=PAYLOAD_PORTS):
    """The sender's packets on the link and each payload connection's acts, in the order of the SYNs. A 4-tuple
    can come back for a later file (the receiver's port used again): a SYN always begins a new connection."""
    payload_syns = [(src, dst) for t, src, dst, flags, size in packets
                    if flags & SYN and not flags & ACK and dst[1] in payload_ports]
    if not payload_syns:
        raise RuntimeError('no payload connection in the capture')
    sender_ip = payload_syns[0][1][0]
    # the link was made before the capture began: its packets are told by the port of its listening end
    announce_times = [t for t, src, dst, flags, size in packets
                      if src[0] == sender_ip and size > 0 and (src[1] in LINK_PORTS or dst[1] in LINK_PORTS)]
    current, conns = {}, []
    for t, src, dst, flags, size in packets:
        side = 'sender' if src[0] == sender_ip else 'receiver'
        key = (src, dst) if side == 'receiver' else (dst, src)
        if key[1][1] not in payload_ports:
            continue
        if flags & SYN and not flags & ACK:
            current[key] = []
            conns.append(current[key])
        evs = current.get(key)
        if evs is None:
            continue
        if flags & SYN:
            stage = 'connect' if not flags & ACK else 'syn-ack (kernel)'
        elif flags & (FIN | RST):
            stage = 'close'
        elif size > 0:
            if side == 'receiver':
                stage = ('tls: client hello' if not any(e.side == 'receiver' and e.stage.startswith('tls') for e in evs) else
                         'close' if any(e.stage == 'data' for e in evs) else 'tls: client flight')
            else:
                stage = 'data' if any(e.stage == 'tls: client flight' for e in evs) else 'tls: server flight'
        else:
            continue
        ev = Event(t, side, stage)
        ev.prev = evs[-1] if evs else None
        evs.append(ev)
    return announce_times, conns


def attribute(packets, payload_ports=PAYLOAD_PORTS):
    """The batch's time from the first announcement to its last packet, split by end and act. Without a link (the
    handshake floor of bench/batches.py: connections one after the other and nothing else) a connection follows the
    one before it, and the time between them is the connecting end's."""
    announce_times, files = chains(packets, payload_ports)
    everything = sorted([e for evs in files for e in evs], key=lambda e: e.t)
    if not announce_times:
        # a connection follows what came last on the wire before its SYN (the client may open the next connection
        # before the last one's final packet)
        follow_the_wire([evs[0] for evs in files[1:]], everything)
        return summary(everything[-1], len(files))
    # The announcements are the sender's last packets on the link before the last SYN, one per file, in order: before
    # them come the link's own set-up and kdeconnectd's `share.request.update`s; with two files under way a file's
    # announcement can come before the SYN of the file before it, so it is matched by its place, not its time.
    last_syn = files[-1][0].t
    before = [t for t in announce_times if t <= last_syn]
    # the latest run of len(files) packets in which each comes before its file's SYN
    for k in range(len(before) - len(files), -1, -1):
        candidates = before[k:k + len(files)]
        if all(a <= evs[0].t for a, evs in zip(candidates, files)):
            break
    else:
        raise RuntimeError('the announcements on the link do not match the %d payload connections (%d packets)' % (
            len(files), len(before)))
    announces = []
    for t, evs in zip(candidates, files):
        a = Event(t, 'sender', 'announce the next file')
        announces.append(a)
        evs[0].prev = a
    # what the sender waited for before each announcement but the first
    follow_the_wire(announces[1:], everything)
    return summary(everything[-1], len(files))


def follow_the_wire(events, everything):
    """Each of `events` follows the last of `everything` (sorted by time) on the wire before it."""
    times = [e.t for e in everything]
    for ev in events:
        j = bisect.bisect_left(times, ev.t) - 1
        ev.prev = everything[j] if j >= 0 else None


def summary(end, files):
    """The chain from `end` back to its start, summed by end and act; per file is per file of the batch (with files
    under way at once the chain passes through some of them only, and the batch's pace is its span over all)."""
    parts, e = {}, end
    while e.prev is not None:
        gap = e.t - e.prev.t
        side = 'kernel' if e.stage.startswith('syn-ack') else e.side
        parts[(side, e.stage)] = parts.get((side, e.stage), 0.0) + gap
        e = e.prev
    return {'files': files, 'span_ms': (end.t - e.t) * 1000,
            'parts_ms': {'%s: %s' % k: v * 1000 for k, v in sorted(parts.items())},
            'sender_ms': sum(v for (s, _), v in parts.items() if s == 'sender') * 1000,
            'receiver_ms': sum(v for (s, _), v in parts.items() if s == 'receiver') * 1000,
            'kernel_ms': sum(v for (s, _), v in parts.items() if s == 'kernel') * 1000}


def capture_row(ns, iface, work, fn, payload_ports=PAYLOAD_PORTS):
    """Runs fn() (a row of bench/batches.py) under a capture and adds `wire` to its result."""
    path = os.path.join(work, 'wire.pcap')
    cap = Capture(ns, iface, path)
    try:
        r = fn()
    finally:
        dropped = cap.stop()
    try:
        r['wire'] = attribute(read_pcap(path), payload_ports)
        r['wire']['dropped'] = dropped
    except RuntimeError as e:
        r['wire'] = {'error': str(e)}
    if os.environ.get('BENCH_WIRE_KEEP'):
        os.rename(path, os.environ['BENCH_WIRE_KEEP'] + '-%d.pcap' % time.monotonic_ns())
    else:
        os.remove(path)
    return r


def print_wire(title, w, files_per_s):
    if 'error' in w:
        print('\n%s: wire: %s' % (title, w['error']))
        return
    n = w['files']
    print('\n%s: who the wire waited for, ms per file (%d files, %.1f ms from the first announcement to the last packet, '
          '%s packets dropped)' % (title, n, w['span_ms'], w['dropped']))
    print('| end: act | ms per file |')
    print('|---|---|')
    for k, v in w['parts_ms'].items():
        print('| %s | %.3f |' % (k, v / n))
    s = w['sender_ms'] / n
    print('- sender %.2f, receiver %.2f, kernel %.2f ms per file; one file at a time, a receiver that took no time at all '
          'would get at most %.1f files/s from this sender (the row: %.1f)' % (s, w['receiver_ms'] / n, w['kernel_ms'] / n,
                                                                             1000 / s, files_per_s))
