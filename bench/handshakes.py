#!/usr/bin/env python3
"""The per-file floor of OpenSSL, for `npm run bench`: the same N sequential connections as
bench/handshakes.ts (TCP connect, mutual TLS handshake, 4 KiB from the server, the client's
close), with Python's ssl; either end talks to either end of the gjs one.
  handshakes.py serve PORT N CERT KEY PEER_CERT
  handshakes.py connect HOST PORT N CERT KEY   (prints one JSON line)"""
import json, socket, ssl, statistics, sys, time

PAYLOAD = b'\x07' * 4096


def context(server, cert, key, peer=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(cert, key)
    ctx.check_hostname = False
    if server:
        # OpenSSL's server asks for the client's certificate only when it checks it: against the
        # peer's own (self-signed) certificate, as bench/tls_ref.py does
        ctx.load_verify_locations(peer)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE  # Ferry's client pins the certificate after the handshake
    return ctx


def serve(port, n, cert, key, peer):
    ctx = context(True, cert, key, peer)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('0.0.0.0', port))
    listener.listen(8)
    print('ready', flush=True)
    for _ in range(n):
        raw, _ = listener.accept()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            with ctx.wrap_socket(raw, server_side=True) as tls:
                tls.sendall(PAYLOAD)
                try:
                    tls.recv(1)
                except (ssl.SSLError, OSError):
                    pass
        except (ssl.SSLError, OSError) as e:
            print('server: %s' % e, file=sys.stderr, flush=True)


def connect(host, port, n, cert, key):
    ctx = context(False, cert, key)
    steps = {'connected': [], 'handshake': [], 'lastByte': [], 'closed': []}
    t0 = time.monotonic()
    for _ in range(n):
        start = time.monotonic()
        at = lambda name: steps[name].append((time.monotonic() - start) * 1000)
        raw = socket.create_connection((host, port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        at('connected')
        tls = ctx.wrap_socket(raw)
        at('handshake')
        got = 0
        while got < len(PAYLOAD):
            chunk = tls.recv(len(PAYLOAD) - got)
            if not chunk:
                raise EOFError('the server sent %d of %d bytes' % (got, len(PAYLOAD)))
            got += len(chunk)
        at('lastByte')
        tls.close()
        at('closed')
    total = (time.monotonic() - t0) * 1000
    print(json.dumps({'connections': n, 'ms_per_connection': total / n,
                      'median_ms': {k: statistics.median(v) for k, v in steps.items()}}), flush=True)


if __name__ == '__main__':
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == 'serve':
        serve(int(args[0]), int(args[1]), args[2], args[3], args[4])
    else:
        connect(args[0], int(args[1]), int(args[2]), args[3], args[4])
