"""A KDE Connect receiver that does nothing but what the protocol requires, for `npm run bench`:
it shows how fast a given sender can hand over a batch at all, so that a receiver's figure can be
read against the sender's own pace. Python's OpenSSL, one thread per payload (as many at once as
the sender announces), the file written to a partial name, renamed and dated, like Ferry does;
no checks beyond the payload's size, no notifications, no main loop to keep free.

It borrows the identity of a Ferry configuration that the sender already trusts (its certificate,
key and device id), announces itself to the sender by a unicast UDP identity, and takes the link
the sender opens (KDE Connect's inverted roles: the side that accepted TCP is the TLS client).

    python3 ideal_peer.py CONFIG_DIR DEVICE_ID SENDER_IP RECEIVE_DIR COUNT

prints `ready` once linked, then one JSON line when COUNT files are whole: the monotonic time of
the last one (`t_end_us`, the same clock as bench/node.ts and time.monotonic()) and per-file
step times."""
import json, os, socket, ssl, sys, threading, time

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
    def __init__(self, config, device_id, sender_ip, folder, count):
        self.ctx, self.device_id, self.sender_ip = client_context(config), device_id, sender_ip
        self.folder, self.count = folder, count
        self.lock = threading.Lock()
        self.done, self.trace, self.errors, self.t_end = 0, [], [], None
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

    def fetch(self, body, size, port, t_announced):
        name = os.path.basename(body.get('filename') or 'unnamed')
        t = {'rx.announced': t_announced}
        try:
            raw = socket.create_connection((self.sender_ip, port))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t['rx.connected'] = now_us()
            tls = self.ctx.wrap_socket(raw, server_side=False)
            t['rx.handshake'] = now_us()
            partial = os.path.join(self.folder, name + '.partial')
            got = 0
            with open(partial, 'wb') as f:
                while got < size:
                    chunk = tls.recv(min(1 << 20, size - got))
                    if not chunk:
                        raise EOFError('payload ended at %d of %d bytes' % (got, size))
                    f.write(chunk)
                    got += len(chunk)
            t['rx.lastByte'] = now_us()
            try:
                # the sender's close_notify is read, not left behind to turn the close into a reset
                # (which a sender rightly takes for "not received"); kdeconnectd just hangs up
                tls.unwrap()
            except (OSError, ValueError):
                pass
            raw.close()
            t['rx.closed'] = now_us()
            final = os.path.join(self.folder, name)
            os.rename(partial, final)
            if isinstance(body.get('lastModified'), int):
                os.utime(final, ns=(body['lastModified'] * 1_000_000,) * 2)
            t['rx.done'] = now_us()
        except (OSError, EOFError) as e:
            with self.lock:
                self.errors.append('%s: %s' % (name, e))
            self.finished.set()
            return
        with self.lock:
            self.trace.extend((ev, name, us) for ev, us in t.items())
            self.done += 1
            if self.done >= self.count:
                self.t_end = now_us()
                self.finished.set()

    def serve(self, link, buf):
        while not self.finished.is_set():
            try:
                p, buf = read_line(link, buf)
            except (OSError, EOFError) as e:
                with self.lock:
                    self.errors.append('the link ended after %d files: %s' % (self.done, e))
                self.finished.set()
                return
            info = p.get('payloadTransferInfo') or {}
            if p.get('type') == 'kdeconnect.share.request' and 'port' in info:
                threading.Thread(target=self.fetch, args=(p['body'], int(p.get('payloadSize', 0)), int(info['port']), now_us()),
                                 daemon=True).start()


def main():
    config, device_id, sender_ip, folder, count = sys.argv[1:6]
    r = Receiver(config, device_id, sender_ip, folder, int(count))
    link, rest = r.link()
    print('ready', flush=True)
    threading.Thread(target=r.serve, args=(link, rest), daemon=True).start()
    r.finished.wait()
    print(json.dumps({'delivered': r.done, 'errors': r.errors, 't_end_us': r.t_end, 'trace': r.trace}), flush=True)
    return 0 if r.done >= int(count) and not r.errors else 1


if __name__ == '__main__':
    sys.exit(main())
