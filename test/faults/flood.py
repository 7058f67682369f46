#!/usr/bin/python3
"""Floods for the fault suite (run it in the attacker's network namespace).
  flood.py udp HOST SECONDS          identity packets from fresh fake device ids, as fast as possible
  flood.py tcp HOST PORT COUNT SECONDS   COUNT connections that never finish the handshake
  flood.py mdns SECONDS              multicast DNS to 224.0.0.251: announcements of fresh fake devices, QU
                                     queries for KDE Connect from a fresh port each, and malformed messages;
                                     counts the unicast answers it got back
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


def dns_name(name):
    return b''.join(bytes([len(label)]) + label.encode() for label in name.split('.')) + b'\0'


def mdns(seconds):
    import select
    import struct
    group = ('224.0.0.251', 5353)
    service = '_kdeconnect._udp.local'
    sent = answers = 0
    askers = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        kind = sent % 3
        if kind == 0:
            device = uuid.uuid4().hex
            instance = '%s.%s' % (device, service)
            txt = b''.join(bytes([len(e)]) + e for e in (b'id=' + device.encode(), b'name=Flood', b'type=phone', b'protocol=8'))
            records = [(dns_name(service), 12, dns_name(instance)),
                       (dns_name(instance), 33, struct.pack('!HHH', 0, 0, 1716) + dns_name(device + '.local')),
                       (dns_name(instance), 16, txt)]
            body = b''.join(n + struct.pack('!HHIH', t, 1, 120, len(d)) + d for n, t, d in records)
            msg = struct.pack('!HHHHHH', 0, 0x8400, 0, len(records), 0, 0) + body
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        elif kind == 1:
            msg = struct.pack('!HHHHHH', 0, 0, 1, 0, 0, 0) + dns_name(service) + struct.pack('!HH', 12, 0x8001)
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            out.setblocking(False)
            askers.append(out)
        else:
            # a name whose compression pointer points at itself, then random bytes
            msg = struct.pack('!HHHHHH', 0, 0x8400, 1, 0, 0, 0) + b'\xc0\x0c' + uuid.uuid4().bytes * 4
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        try:
            out.sendto(msg, group)
            sent += 1
        except OSError:
            time.sleep(0.001)
        if kind != 1:
            out.close()
        if sent % 100 == 0:
            time.sleep(0.002)
            readable = select.select(askers, [], [], 0)[0]
            for a in readable:
                try:
                    while a.recv(9000):
                        answers += 1
                except OSError:
                    pass
            # keep a bounded number of askers open
            for a in askers[:-200]:
                a.close()
            askers = askers[-200:]
    time.sleep(1)
    for a in askers:
        try:
            while True:
                a.setblocking(False)
                a.recv(9000)
                answers += 1
        except OSError:
            pass
    print(json.dumps({'mdns_packets': sent, 'unicast_answers': answers}))


if __name__ == '__main__':
    if sys.argv[1] == 'udp':
        udp(sys.argv[2], float(sys.argv[3]))
    elif sys.argv[1] == 'mdns':
        mdns(float(sys.argv[2]))
    else:
        tcp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
