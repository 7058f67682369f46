#!/usr/bin/python3
"""Loads nautilus/ferry-nautilus.py with the real Nautilus 4.0 introspection API, asks its menu
provider for items as Nautilus would, for selections of file-info objects that implement
Nautilus.FileInfo, and activates one. Prints one JSON object.
  drive.py EXTENSION_PY ACTIVATE_LABEL FILE...   (FILE: a path, a URI, or DIR/ for a folder)"""
import importlib.util
import json
import sys
import time

import gi

gi.require_version('Nautilus', '4.0')
from gi.repository import Gio, GLib, GObject, Nautilus  # noqa: E402


class FileInfo(GObject.GObject, Nautilus.FileInfo):
    def __init__(self, uri, directory=False):
        super().__init__()
        self.uri = uri
        self.directory = directory

    def do_get_uri(self):
        return self.uri

    def do_get_activation_uri(self):
        return self.uri

    def do_get_uri_scheme(self):
        return GLib.uri_peek_scheme(self.uri)

    def do_is_directory(self):
        return self.directory

    def do_get_location(self):
        return Gio.File.new_for_uri(self.uri)

    def do_get_name(self):
        return Gio.File.new_for_uri(self.uri).get_basename()

    def do_get_mime_type(self):
        return 'inode/directory' if self.directory else 'application/octet-stream'

    def do_is_gone(self):
        return False


def info(arg):
    if '://' in arg:
        return FileInfo(arg)
    directory = arg.endswith('/')
    return FileInfo(Gio.File.new_for_path(arg.rstrip('/')).get_uri(), directory)


def labels(items):
    out = []
    for item in items:
        sub = item.get_property('menu')
        out.append({'label': item.get_property('label'),
                    'items': [labels([i])[0]['label'] for i in sub.get_items()] if sub else []})
    return out


def iterate_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    ctx = GLib.MainContext.default()
    while time.monotonic() < deadline:
        if predicate():
            return True
        ctx.iteration(False)
        time.sleep(0.01)
    return predicate()


def main():
    path, activate, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    spec = importlib.util.spec_from_file_location('ferry_nautilus', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    provider = module.FerryMenuProvider()
    selection = [info(f) for f in files]
    regular = [f for f in selection if not f.directory and f.get_uri_scheme() == 'file']
    result = {'ready': iterate_until(lambda: provider.get_file_items(regular[:1]), 15)}
    result['selections'] = {
        'files': labels(provider.get_file_items(regular)),
        'all': labels(provider.get_file_items(selection)),
        'folders': labels(provider.get_file_items([f for f in selection if f.directory])),
        'remote': labels(provider.get_file_items([f for f in selection if f.get_uri_scheme() != 'file'])),
        'nothing': labels(provider.get_file_items([])),
    }
    replies = []
    original = provider.ferry._sent

    def sent(connection, res):
        try:
            replies.append(connection.call_finish(res).unpack()[0])
        except GLib.Error as e:
            replies.append('error: ' + e.message)
        original(connection, res)

    provider.ferry._sent = sent
    for item in provider.get_file_items(regular):
        sub = item.get_property('menu')
        for candidate in (sub.get_items() if sub else [item]):
            if candidate.get_property('label') == activate:
                candidate.activate()
    iterate_until(lambda: replies, 15)
    result['sent'] = replies
    print(json.dumps(result))


if __name__ == '__main__':
    main()
