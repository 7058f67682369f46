#!/usr/bin/env python3
"""References for `npm run bench`: a blocking OpenSSL TLS pair (Python's ssl), file to file, with
mutual certificates and 1 MiB writes: what the TLS stack on this machine can do; and plain TCP
without TLS, the sender on sendfile(2), the receiver on 1 MiB reads: what the wire can do.
  tls_ref.py send HOST PORT FILE CERT KEY PEER_CERT
  tls_ref.py receive PORT OUT CERT KEY PEER_CERT   (prints one JSON line)
  tls_ref.py plain-send HOST PORT FILE
  tls_ref.py plain-receive PORT OUT                (prints one JSON line)"""
import json, os, socket, ssl, sys, time

CHUNK = 1 << 20

def context(server, cert, key, peer):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(peer)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx

def connect(host, port):
    for _ in range(100):
        try:
            return socket.create_connection((host, int(port)))
        except OSError:
            time.sleep(0.05)
    raise OSError('cannot connect to %s:%s' % (host, port))

def send(host, port, path, cert, key, peer):
    ctx = context(False, cert, key, peer)
    raw = connect(host, port)
    with ctx.wrap_socket(raw) as tls, open(path, 'rb') as f:
        while True:
            data = f.read(CHUNK)
            if not data:
                break
            tls.sendall(data)
        try:
            tls.unwrap()
        except (ssl.SSLError, OSError):
            pass  # the receiver may close first once it has everything

def receive(port, out, cert, key, peer):
    ctx = context(True, cert, key, peer)
    srv = socket.create_server(('0.0.0.0', int(port)))
    raw, _ = srv.accept()
    start = time.monotonic()
    total = 0
    buf = bytearray(CHUNK)
    with ctx.wrap_socket(raw, server_side=True) as tls, open(out, 'wb') as f:
        while True:
            try:
                n = tls.recv_into(buf)
            except ssl.SSLZeroReturnError:
                break
            if n == 0:
                break
            f.write(memoryview(buf)[:n])
            total += n
    secs = time.monotonic() - start
    print(json.dumps({'bytes': total, 'seconds': secs, 'mbps': total / secs / 1e6}))

def plain_send(host, port, path):
    with connect(host, port) as raw, open(path, 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        sent = 0
        while sent < size:
            sent += os.sendfile(raw.fileno(), f.fileno(), sent, size - sent)

def plain_receive(port, out):
    srv = socket.create_server(('0.0.0.0', int(port)))
    raw, _ = srv.accept()
    start = time.monotonic()
    total = 0
    buf = bytearray(CHUNK)
    with raw, open(out, 'wb') as f:
        while True:
            n = raw.recv_into(buf)
            if n == 0:
                break
            f.write(memoryview(buf)[:n])
            total += n
    secs = time.monotonic() - start
    print(json.dumps({'bytes': total, 'seconds': secs, 'mbps': total / secs / 1e6}))

if __name__ == '__main__':
    {'send': send, 'receive': receive, 'plain-send': plain_send, 'plain-receive': plain_receive}[sys.argv[1]](*sys.argv[2:])
