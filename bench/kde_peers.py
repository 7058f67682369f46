"""kdeconnectd peers for `npm run bench`: the kdeconnectd -> kdeconnectd reference rows.
Each peer runs headless in a network namespace with its own HOME and a private session bus."""
import hashlib, os, re, shutil, subprocess, tempfile, time

KDECONNECTD = '/usr/lib/x86_64-linux-gnu/libexec/kdeconnectd'


def available(root=None):
    return os.path.exists((root or '') + ('/usr/bin/kdeconnectd' if root else KDECONNECTD))


class Kde:
    def __init__(self, ns, name, root=None):
        self.ns, self.name, self.root = ns, name, root
        self.home = tempfile.mkdtemp(prefix='ferry-bench-kde-', dir='/tmp')
        os.makedirs(self.home + '/.config/kdeconnect'); os.makedirs(self.home + '/Downloads'); os.makedirs(self.home + '/run', 0o700)
        with open(self.home + '/.config/kdeconnect/config', 'w') as f:
            f.write('[General]\nname=%s\n' % name)
        with open(self.home + '/.config/user-dirs.dirs', 'w') as f:
            f.write('XDG_DOWNLOAD_DIR="$HOME/Downloads"\n')
        with open(self.home + '/bus.conf', 'w') as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" '
                    '"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd"><busconfig><type>session</type>'
                    '<listen>unix:path=%s/bus</listen><policy context="default"><allow send_destination="*" eavesdrop="true"/>'
                    '<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>' % self.home)
        self.env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': self.home, 'USER': 'root', 'LANG': 'C.UTF-8',
                    'XDG_CONFIG_HOME': self.home + '/.config', 'XDG_DATA_HOME': self.home + '/.local/share',
                    'XDG_CACHE_HOME': self.home + '/.cache', 'XDG_RUNTIME_DIR': self.home + '/run',
                    'DBUS_SESSION_BUS_ADDRESS': 'unix:path=%s/bus' % self.home, 'QT_QPA_PLATFORM': 'offscreen'}
        self.procs = []
        self.id = None

    def wrap(self, argv):
        if not self.root:
            return ['ip', 'netns', 'exec', self.ns] + argv
        r, h = self.root, self.home
        mounts = ("mount --make-rprivate / && mkdir -p '%s%s' && mount --bind '%s' '%s%s' && mount -t proc proc '%s/proc' && "
                  "mount --rbind /dev '%s/dev' && exec chroot '%s' \"$@\"") % (r, h, h, r, h, r, r, r)
        return ['ip', 'netns', 'exec', self.ns, 'sh', '-c', mounts, 'sh'] + argv

    def start(self):
        self.procs.append(subprocess.Popen(['ip', 'netns', 'exec', self.ns, 'dbus-daemon', '--config-file=%s/bus.conf' % self.home,
                                            '--nofork', '--nopidfile'], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.wait(lambda: os.path.exists(self.home + '/bus'), 5)
        self.procs.append(subprocess.Popen(self.wrap(['/usr/bin/kdeconnectd' if self.root else KDECONNECTD]), env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def ready():
            out = self.gdbus('-d', 'org.kde.kdeconnect', '-o', '/modules/kdeconnect', '-m', 'org.kde.kdeconnect.daemon.selfId')
            m = re.search(r"\('([^']+)',\)", out)
            if m:
                self.id = m.group(1)
            return bool(m)
        self.wait(ready, 20)
        v = re.search(r'(\d+)\.(\d+)', subprocess.run(self.wrap(['kdeconnect-cli', '--version']), env=self.env,
                                                       capture_output=True, text=True).stdout)
        self.modern = bool(v) and (int(v.group(1)), int(v.group(2))) >= (23, 4)

    def cpu_s(self):
        """kdeconnectd's CPU seconds so far: every thread, its children that ended and those still running (KIO
        workers). `ip netns exec`, sh and chroot exec it: the pid is its own."""
        pid = self.procs[1].pid

        def stat(p):
            with open('/proc/%s/stat' % p) as f:
                return f.read().rsplit(')', 1)[1].split()
        own = stat(pid)
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))
        for p in os.listdir('/proc'):
            if p.isdigit() and p != str(pid):
                try:
                    st = stat(p)
                except OSError:
                    continue
                if st[1] == str(pid):
                    ticks += int(st[11]) + int(st[12])
        return ticks / os.sysconf('SC_CLK_TCK')

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
        if os.path.exists(self.home + '/bus'):
            os.remove(self.home + '/bus')

    def destroy(self):
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        if self.root:
            try:
                os.rmdir(self.root + self.home)
            except OSError:
                pass

    @staticmethod
    def wait(cond, secs):
        end = time.time() + secs
        while time.time() < end:
            if cond():
                return
            time.sleep(0.2)
        raise RuntimeError('timed out waiting')

    def gdbus(self, *args):
        return subprocess.run(['gdbus', 'call', '-e'] + list(args), env=self.env, capture_output=True, text=True).stdout

    def dev(self, other, what, *args):
        path = '/modules/kdeconnect/devices/' + re.sub(r'[^A-Za-z0-9_]', '_', other.id)
        if what == 'prop':
            return 'true' in self.gdbus('-d', 'org.kde.kdeconnect', '-o', path, '-m', 'org.freedesktop.DBus.Properties.Get',
                                        'org.kde.kdeconnect.device', args[0])
        return self.gdbus('-d', 'org.kde.kdeconnect', '-o', path, '-m', 'org.kde.kdeconnect.device.' + what)

    def pair_with(self, other):
        self.wait(lambda: self.dev(other, 'prop', 'isReachable'), 30)
        self.dev(other, 'requestPairing' if self.modern else 'requestPair')
        self.wait(lambda: other.dev(self, 'prop', 'isPairRequestedByPeer' if other.modern else 'hasPairingRequests'), 15)
        other.dev(self, 'acceptPairing')
        self.wait(lambda: self.dev(other, 'prop', 'isPaired' if self.modern else 'isTrusted'), 15)

    def send_timed(self, other, path):
        """Shares `path` and returns the seconds until the receiver has it under its final name."""
        name = os.path.basename(path)
        target = os.path.join(other.home, 'Downloads', name)
        t0 = time.time()
        subprocess.run(self.wrap(['kdeconnect-cli', '-d', other.id, '--share', path]), env=self.env, check=True,
                       capture_output=True)
        size = os.path.getsize(path)
        # 22.12 writes NAME.part and renames it; 25.04 writes the final name from the start
        self.wait(lambda: os.path.exists(target) and os.path.getsize(target) >= size and not os.path.exists(target + '.part'), 900)
        secs = time.time() - t0
        ok = sha256(target) == sha256(path)
        os.remove(target)
        if not ok:
            raise RuntimeError('%s arrived corrupted at %s' % (name, other.name))
        return secs


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()
