#!/usr/bin/python3
"""Listens to multicast DNS on 224.0.0.251:5353 for SECONDS (run it in a test's namespace) and
prints, as one JSON list, every PTR record of the responses heard: [name, instance, ttl]. Names
are read without decompression (Ferry writes none; a compressed one is skipped)."""
import json
import socket
import struct
import sys
import time


def name_at(data, pos):
    labels = []
    while pos < len(data):
        n = data[pos]
        if n == 0:
            return '.'.join(labels), pos + 1
        if n & 0xc0:
            return None, pos + 2
        labels.append(data[pos + 1:pos + 1 + n].decode(errors='replace'))
        pos += 1 + n
    raise ValueError('truncated')


def ptrs(data):
    _, flags, qd, an, ns, ar = struct.unpack('!HHHHHH', data[:12])
    if not flags & 0x8000:
        return []
    pos, out = 12, []
    for _ in range(qd):
        _, pos = name_at(data, pos)
        pos += 4
    for _ in range(an + ns + ar):
        name, pos = name_at(data, pos)
        rtype, _, ttl, length = struct.unpack('!HHIH', data[pos:pos + 10])
        pos += 10
        if rtype == 12 and name:
            instance, _ = name_at(data, pos)
            out.append([name, instance, ttl])
        pos += length
    return out


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(('0.0.0.0', 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton('224.0.0.251'), socket.inet_aton('0.0.0.0')))
s.settimeout(0.2)
heard = []
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        data, _ = s.recvfrom(9000)
    except socket.timeout:
        continue
    try:
        heard.extend(ptrs(data))
    except (ValueError, struct.error):
        pass
print(json.dumps(heard))
