#!/usr/bin/python3
"""How quickly a Ferry engine's main loop answers: calls GetIdentity on its D-Bus API (a method
served on the main loop) every 5 ms for SECONDS and prints the round trips' p50/p99/max in ms.
  probe.py SECONDS   (DBUS_SESSION_BUS_ADDRESS: the engine's bus)"""
import json
import sys
import time

import gi

gi.require_version('Gio', '2.0')
from gi.repository import Gio  # noqa: E402

bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
times = []
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    t = time.monotonic()
    bus.call_sync('org.gnome.Shell.Extensions.Ferry', '/org/gnome/Shell/Extensions/Ferry',
                  'org.gnome.Shell.Extensions.Ferry', 'GetIdentity', None, None, Gio.DBusCallFlags.NONE, 10000, None)
    times.append((time.monotonic() - t) * 1000)
    time.sleep(0.005)
times.sort()
print(json.dumps({'calls': len(times), 'p50': times[len(times) // 2], 'p99': times[int(len(times) * 0.99)],
                  'max': times[-1]}))
