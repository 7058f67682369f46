#!/usr/bin/python3
"""Floods for the fault suite (run it in the attacker's network namespace).
  flood.py udp HOST SECONDS          identity packets from fresh fake device ids, as fast as possible
  flood.py tcp HOST PORT COUNT SECONDS   COUNT connections that never finish the handshake
Prints one JSON line with what it did."""
import json
import socket
import sys
import time
import uuid


def udp(host, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sent, ids = 0, set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        device = uuid.uuid4().hex
        ids.add(device)
        body = {'deviceId': device, 'deviceName': 'Flood %d' % sent, 'deviceType': 'phone', 'protocolVersion': 8,
                'incomingCapabilities': [], 'outgoingCapabilities': [], 'tcpPort': 1716 + sent % 49}
        packet = json.dumps({'id': sent, 'type': 'kdeconnect.identity', 'body': body}) + '\n'
        try:
            s.sendto(packet.encode(), (host, 1716))
            sent += 1
        except OSError:
            time.sleep(0.001)
        if sent % 200 == 0:
            time.sleep(0.002)  # about 20 000 a second here; more only fills the socket buffers
    print(json.dumps({'udp_packets': sent, 'device_ids': len(ids)}))


def tcp(host, port, count, seconds):
    conns, refused = [], 0
    for i in range(count):
        try:
            c = socket.create_connection((host, port), timeout=2)
            # half of them say who they are and then nothing more; the other half say nothing
            if i % 2:
                c.sendall(b'{"id":1,"type":"kdeconnect.identity","body":{"deviceId":"%s","deviceName":"Half",'
                          b'"protocolVersion":8,"deviceType":"phone","incomingCapabilities":[],'
                          b'"outgoingCapabilities":[],"tcpPort":1716}}\n' % uuid.uuid4().hex.encode())
            conns.append(c)
        except OSError:
            refused += 1
    time.sleep(seconds)
    closed_by_peer = 0
    for c in conns:
        c.settimeout(0.01)
        try:
            # Ferry may have sent something first (a TLS ClientHello); closed means end of stream
            while True:
                if c.recv(65536) == b'':
                    closed_by_peer += 1
                    break
        except socket.timeout:
            pass
        except OSError:
            closed_by_peer += 1
        c.close()
    print(json.dumps({'tcp_opened': len(conns), 'tcp_refused': refused, 'tcp_closed_by_ferry': closed_by_peer}))


if __name__ == '__main__':
    if sys.argv[1] == 'udp':
        udp(sys.argv[2], float(sys.argv[3]))
    else:
        tcp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
