#!/usr/bin/env python3
"""The protocol's own pace for a batch, for `npm run bench`: N files sent the KDE Connect way (one
TCP connection and one mutual TLS handshake per file, the sender as TLS server on a port of its own
that it announces, the receiver's close as the only confirmation) by a pair doing nothing else,
with Python's OpenSSL in 1 MiB writes and reads (bench/tls_ref.py's). DEPTH is how many files may
be under way at once: 1 is a sender that announces a file once the last is confirmed (Ferry's to
every KDE Connect peer, GSConnect's), 2 one that announces the next while the last is moving
(Ferry's to a Ferry). The announcements go over one plain TCP connection, a line "PORT SIZE NAME"
each, standing in for the link. CERT "-" leaves TLS out (on both sides): plain TCP, still one
connection per file, which is what the wire and the kernel cost a file.
  batch_ref.py send HOST CONTROL_PORT DEPTH CERT KEY PEER_CERT FILE...   (prints one JSON line)
  batch_ref.py receive CONTROL_PORT OUT_DIR CERT KEY PEER_CERT"""
import json, os, socket, sys, threading, time

from tls_ref import CHUNK, connect, context

FIRST_PAYLOAD_PORT = 1790


def tls_or_plain(ctx, raw, server):
    return ctx.wrap_socket(raw, server_side=server) if ctx else raw


def send_one(ctx, listener, path, slot):
    try:
        raw, _ = listener.accept()
        listener.close()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with tls_or_plain(ctx, raw, True) as tls, open(path, 'rb') as f:
            if ctx is None:
                # plain TCP goes by sendfile(2), as bench/tls_ref.py's plain sender
                tls.sendfile(f)
            while ctx is not None:
                data = f.read(CHUNK)
                if not data:
                    break
                tls.sendall(data)
            # the receiver's close is the confirmation
            try:
                while tls.recv(1):
                    pass
            except OSError:
                pass
    finally:
        slot.release()


def payload_listener():
    # a listener of its own for each file, on the first free port, as the protocol's senders do
    for port in range(FIRST_PAYLOAD_PORT, FIRST_PAYLOAD_PORT + 26):
        try:
            return socket.create_server(('0.0.0.0', port)), port
        except OSError:
            continue
    raise OSError('no free payload port')


def send(host, control_port, depth, cert, key, peer, *paths):
    ctx = context(True, cert, key, peer) if cert != '-' else None
    control = connect(host, control_port)
    control.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    slots = threading.Semaphore(int(depth))
    workers = []
    total = 0
    start = time.monotonic()
    for path in paths:
        slots.acquire()
        size = os.path.getsize(path)
        total += size
        listener, port = payload_listener()
        t = threading.Thread(target=send_one, args=(ctx, listener, path, slots))
        t.start()
        workers.append(t)
        control.sendall(b'%d %d %s\n' % (port, size, os.path.basename(path).encode()))
    for t in workers:
        t.join()
    secs = time.monotonic() - start
    control.close()
    print(json.dumps({'files': len(paths), 'bytes': total, 'seconds': secs, 'mbps': total / secs / 1e6,
                      'files_per_s': len(paths) / secs, 'depth': int(depth)}), flush=True)


def receive_one(ctx, host, port, size, out):
    raw = socket.create_connection((host, port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(CHUNK)
    got = 0
    with tls_or_plain(ctx, raw, False) as tls, open(out + '.part', 'wb') as f:
        while got < size:
            n = tls.recv_into(buf, min(CHUNK, size - got))
            if n == 0:
                raise EOFError('%s: %d of %d bytes' % (out, got, size))
            f.write(memoryview(buf)[:n])
            got += n
    os.rename(out + '.part', out)


def receive(control_port, out_dir, cert, key, peer):
    ctx = context(False, cert, key, peer) if cert != '-' else None
    srv = socket.create_server(('0.0.0.0', int(control_port)))
    print('ready', flush=True)
    control, (host, _) = srv.accept()
    workers = []
    for line in control.makefile('rb'):
        port, size, name = line.decode().split(maxsplit=2)
        t = threading.Thread(target=receive_one, args=(ctx, host, int(port), int(size), os.path.join(out_dir, name.strip())))
        t.start()
        workers.append(t)
    for t in workers:
        t.join()


if __name__ == '__main__':
    {'send': send, 'receive': receive}[sys.argv[1]](*sys.argv[2:])
