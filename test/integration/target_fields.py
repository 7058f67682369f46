#!/usr/bin/python3
"""A raw KDE Connect peer for the target fields of 26.04+ identities (run it in a namespace):
  target_fields.py open HOST PORT OUR_ID TARGET_ID TARGET_VERSION
      opens a link to Ferry with an identity addressed to TARGET_ID / TARGET_VERSION (a JSON
      value: 8, "8", 7 or null to leave both fields out) and reports whether Ferry went on to
      TLS (its ClientHello: "hello") or closed the connection ("closed")
  target_fields.py answer HOST OUR_ID TCP_PORT
      announces itself to HOST by UDP and reports the identity line Ferry sends when it connects
Prints one JSON line."""
import json
import socket
import sys


def identity(device_id, extra):
    body = {'deviceId': device_id, 'deviceName': 'Raw', 'deviceType': 'phone', 'protocolVersion': 8,
            'incomingCapabilities': ['kdeconnect.share.request'], 'outgoingCapabilities': [], **extra}
    return (json.dumps({'id': 1, 'type': 'kdeconnect.identity', 'body': body}) + '\n').encode()


def open_link(host, port, our_id, target_id, target_version):
    version = json.loads(target_version)
    extra = {} if version is None else {'targetDeviceId': target_id, 'targetProtocolVersion': version}
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(identity(our_id, extra))
    try:
        first = s.recv(1)
    except (ConnectionResetError, socket.timeout) as e:
        first = b'' if isinstance(e, ConnectionResetError) else None
    result = 'hello' if first == b'\x16' else 'closed' if first == b'' else 'silent'
    print(json.dumps({'result': result}), flush=True)


def answer(host, our_id, tcp_port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('0.0.0.0', tcp_port))
    server.listen(1)
    server.settimeout(10)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(identity(our_id, {'tcpPort': tcp_port}), (host, 1716))
    conn, _ = server.accept()
    conn.settimeout(5)
    line = b''
    while not line.endswith(b'\n'):
        chunk = conn.recv(4096)
        if not chunk:
            break
        line += chunk
    print(json.dumps(json.loads(line)['body']), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'open':
        open_link(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    else:
        answer(sys.argv[2], sys.argv[3], int(sys.argv[4]))
