"""A KDE Connect receiver that does nothing but what the protocol requires, for `npm run bench`:
it shows how fast a given sender can hand over a batch at all, so that a receiver's figure can be
read against the sender's own pace. Python's OpenSSL, one thread per payload (as many at once as
the sender announces), the file written to a partial name, renamed and dated, like Ferry does;
no checks beyond the payload's size, no notifications, no main loop to keep free.

It borrows the identity of a Ferry configuration that the sender already trusts (its certificate,
key and device id), announces itself to the sender by a unicast UDP identity, and takes the link
the sender opens (KDE Connect's inverted roles: the side that accepted TCP is the TLS client).

    python3 ideal_peer.py CONFIG_DIR DEVICE_ID SENDER_IP RECEIVE_DIR COUNT [--fetches N]
        [--hold-ms MS] [--reset NAME]

prints `ready` once linked, then one JSON line when each of COUNT files arrived whole or failed (or on SIGTERM): the
monotonic time of the last one (`t_end_us`, the same clock as bench/node.ts and time.monotonic()),
per-file step times, and the most payload connections it had open at once (`max_at_once`).
--fetches N answers the first file announced with Ferry's packet saying it fetches N files at
once (`ferry.share.fetches`), as a Ferry does, so a Ferry sender overlaps the files after it. The test suite uses it as a
receiver that can be made to misbehave: --hold-ms keeps every payload connection open that long
after its last byte before closing it (the confirmation), --reset NAME resets the connection of
file NAME halfway through it (a file that did not arrive; it still ends the run as one)."""
import argparse, json, os, signal, socket, ssl, struct, sys, threading, time

UDP_PORT = 1716
TCP_PORT = 1716


def now_us():
    return time.monotonic_ns() // 1000


def packet(kind, body):
    return (json.dumps({'id': int(time.time() * 1000), 'type': kind, 'body': body}) + '\n').encode()


def identity(device_id, tcp_port=None):
    body = {'deviceId': device_id, 'deviceName': 'Bench', 'deviceType': 'desktop', 'protocolVersion': 8,
            'incomingCapabilities': ['kdeconnect.share.request'], 'outgoingCapabilities': ['kdeconnect.share.request']}
    if tcp_port is not None:
        body['tcpPort'] = tcp_port
    return packet('kdeconnect.identity', body)


def read_line(sock, buf):
    while b'\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError('the sender closed the link')
        buf += chunk
    line, _, rest = buf.partition(b'\n')
    return json.loads(line), rest


def client_context(config):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a measurement, not a trust decision: the sender is ours
    ctx.load_cert_chain(os.path.join(config, 'certificate.pem'), os.path.join(config, 'private.pem'))
    return ctx


class Receiver:
    def __init__(self, config, device_id, sender_ip, folder, count, fetches=None, hold_ms=0, reset=None):
        self.ctx, self.device_id, self.sender_ip = client_context(config), device_id, sender_ip
        self.folder, self.count = folder, count
        self.fetches, self.hold_ms, self.reset = fetches, hold_ms, reset
        self.lock = threading.Lock()
        self.done, self.trace, self.errors, self.t_end = 0, [], [], None
        self.open_now, self.max_at_once = 0, 0
        self.finished = threading.Event()
        os.makedirs(folder, exist_ok=True)

    def link(self):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(('0.0.0.0', TCP_PORT))
        server.listen(4)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.settimeout(1)
        deadline = time.monotonic() + 30
        while True:
            udp.sendto(identity(self.device_id, TCP_PORT), (self.sender_ip, UDP_PORT))
            try:
                raw, _ = server.accept()
                break
            except socket.timeout:
                if time.monotonic() > deadline:
                    raise RuntimeError('the sender never connected')
        server.close()
        raw.settimeout(None)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # nothing follows the plaintext identity before our ClientHello: no bytes are left behind
        read_line(raw, b'')
        tls = self.ctx.wrap_socket(raw, server_side=False)
        tls.sendall(identity(self.device_id))
        peer, rest = read_line(tls, b'')
        if peer.get('type') != 'kdeconnect.identity':
            raise RuntimeError('expected the encrypted identity, got %s' % peer.get('type'))
        # what came with the encrypted identity (a first share request, maybe) is the link's next bytes
        return tls, rest

    def opened(self, n):
        with self.lock:
            self.open_now += n
            self.max_at_once = max(self.max_at_once, self.open_now)

    def fetch(self, body, size, port, t_announced):
        name = os.path.basename(body.get('filename') or 'unnamed')
        t = {'rx.announced': t_announced}
        try:
            raw = socket.create_connection((self.sender_ip, port))
            self.opened(1)
        except OSError as e:
            return self.failed(name, e)
        # the connection counts as open until this receiver ends it (fetch_on), not until its thread
        # gets round to the count: the sender's next file may be fetched in between
        released = []

        def release():
            if not released:
                released.append(True)
                self.opened(-1)
        try:
            self.fetch_on(raw, name, body, size, t, release)
        except (OSError, EOFError) as e:
            # nothing of a file that did not arrive is left
            try:
                os.remove(os.path.join(self.folder, name + '.partial'))
            except OSError:
                pass
            return self.failed(name, e)
        finally:
            release()
        with self.lock:
            self.trace.extend((ev, name, us) for ev, us in t.items())
            self.done += 1
            self.settled()

    def failed(self, name, e):
        with self.lock:
            self.errors.append('%s: %s' % (name, e))
            self.settled()

    def settled(self):
        # every file arrived or failed (the caller holds the lock)
        if self.done + len(self.errors) >= self.count:
            self.t_end = now_us()
            self.finished.set()

    def fetch_on(self, raw, name, body, size, t, release):
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t['rx.connected'] = now_us()
        tls = self.ctx.wrap_socket(raw, server_side=False)
        t['rx.handshake'] = now_us()
        partial = os.path.join(self.folder, name + '.partial')
        # --reset: read half the file, then reset the connection (nothing of it is kept)
        stop = size // 2 if name == self.reset else size
        got = 0
        with open(partial, 'wb') as f:
            while got < stop:
                chunk = tls.recv(min(1 << 20, stop - got))
                if not chunk:
                    raise EOFError('payload ended at %d of %d bytes' % (got, size))
                f.write(chunk)
                got += len(chunk)
        if got < size:
            os.remove(partial)
            # the TLS socket holds the connection now (wrap_socket detached `raw`)
            tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            tls.close()
            raise EOFError('reset on purpose at %d of %d bytes' % (got, size))
        t['rx.lastByte'] = now_us()
        # named and dated before the close that confirms it: a confirmed file is a whole file
        self.place(partial, name, body)
        t['rx.done'] = now_us()
        time.sleep(self.hold_ms / 1000)
        # the connection ends here for the sender: the close_notify that unwrap() sends is what a
        # Ferry sender takes as the confirmation, before the socket's close
        release()
        try:
            # the sender's close_notify is read, not left behind to turn the close into a reset
            # (which a sender rightly takes for "not received"); kdeconnectd just hangs up
            tls.unwrap()
        except (OSError, ValueError):
            pass
        tls.close()
        t['rx.closed'] = now_us()

    def place(self, partial, name, body):
        final = os.path.join(self.folder, name)
        os.rename(partial, final)
        if isinstance(body.get('lastModified'), int):
            os.utime(final, ns=(body['lastModified'] * 1_000_000,) * 2)

    def serve(self, link, buf):
        told = False
        while not self.finished.is_set():
            try:
                p, buf = read_line(link, buf)
            except (OSError, EOFError) as e:
                with self.lock:
                    self.errors.append('the link ended after %d files: %s' % (self.done, e))
                self.finished.set()
                return
            info = p.get('payloadTransferInfo') or {}
            if p.get('type') != 'kdeconnect.share.request' or 'filename' not in p.get('body', {}):
                continue
            if self.fetches and not told:
                # as a Ferry answers the first file announced on a link
                link.sendall(packet('ferry.share.fetches', {'fetchesAtOnce': self.fetches}))
                told = True
            if 'port' in info:
                threading.Thread(target=self.fetch, args=(p['body'], int(p.get('payloadSize', 0)), int(info['port']), now_us()),
                                 daemon=True).start()
            else:
                # an empty file comes as its announcement alone
                name = os.path.basename(p['body']['filename'])
                open(os.path.join(self.folder, name + '.partial'), 'wb').close()
                self.place(os.path.join(self.folder, name + '.partial'), name, p['body'])
                with self.lock:
                    self.done += 1
                    self.settled()


def main():
    ap = argparse.ArgumentParser()
    for arg in ('config', 'device_id', 'sender_ip', 'folder'):
        ap.add_argument(arg)
    ap.add_argument('count', type=int)
    ap.add_argument('--fetches', type=int)
    ap.add_argument('--hold-ms', type=int, default=0)
    ap.add_argument('--reset')
    a = ap.parse_args()
    r = Receiver(a.config, a.device_id, a.sender_ip, a.folder, a.count, a.fetches, a.hold_ms, a.reset)
    # a run whose sender gave up on the rest of the batch is ended from outside: it still reports
    signal.signal(signal.SIGTERM, lambda *_: r.finished.set())
    link, rest = r.link()
    print('ready', flush=True)
    threading.Thread(target=r.serve, args=(link, rest), daemon=True).start()
    r.finished.wait()
    with r.lock:
        out = {'delivered': r.done, 'errors': r.errors, 't_end_us': r.t_end, 'trace': r.trace, 'max_at_once': r.max_at_once}
    print(json.dumps(out), flush=True)
    return 0 if r.done >= a.count and not r.errors else 1


if __name__ == '__main__':
    sys.exit(main())
