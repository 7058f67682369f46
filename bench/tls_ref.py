#!/usr/bin/env python3
"""Reference for `npm run bench`: a blocking OpenSSL TLS pair (Python's ssl), file to file, with
mutual certificates and 1 MiB writes: what the TLS stack on this machine can do.
  tls_ref.py send HOST PORT FILE CERT KEY PEER_CERT
  tls_ref.py receive PORT OUT CERT KEY PEER_CERT   (prints one JSON line)"""
import json, socket, ssl, sys, time

CHUNK = 1 << 20

def context(server, cert, key, peer):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(peer)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx

def send(host, port, path, cert, key, peer):
    ctx = context(False, cert, key, peer)
    for _ in range(100):
        try:
            raw = socket.create_connection((host, int(port)))
            break
        except OSError:
            time.sleep(0.05)
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

if __name__ == '__main__':
    {'send': send, 'receive': receive}[sys.argv[1]](*sys.argv[2:])
