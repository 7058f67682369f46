#!/usr/bin/python3
"""A peer that dies (SIGKILL) before its link exists, for the fault suite (run it in the peer's
network namespace):
  early_death.py identity  HOST PORT DEVICE_ID   dies after half of its identity line
  early_death.py handshake HOST PORT DEVICE_ID   sends its identity, reads the start of the TLS
                                                 handshake (KDE Connect's inverted roles: the side
                                                 that accepted speaks first) and dies mid-reply
Prints one JSON line just before it dies."""
import json
import os
import signal
import socket
import sys


def die(what):
    print(json.dumps(what), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def main(phase, host, port, device_id):
    body = {'deviceId': device_id, 'deviceName': 'Evil', 'deviceType': 'phone', 'protocolVersion': 8,
            'incomingCapabilities': [], 'outgoingCapabilities': [], 'tcpPort': 1716}
    line = (json.dumps({'id': 1, 'type': 'kdeconnect.identity', 'body': body}) + '\n').encode()
    s = socket.create_connection((host, port), timeout=5)
    if phase == 'identity':
        s.sendall(line[:len(line) // 2])
        die({'phase': phase, 'sent': len(line) // 2})
    s.sendall(line)
    hello = s.recv(5)  # a TLS record header: 0x16 0x03 0x0x, the ClientHello follows
    # half a ServerHello record header and some of its body, then nothing ever again
    s.sendall(b'\x16\x03\x03\x00\x7a\x02\x00\x00')
    die({'phase': phase, 'received': hello.hex()})


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
