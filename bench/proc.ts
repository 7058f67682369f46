// What the bench's gjs processes read of themselves in /proc (bench/node.ts, bench/ideal_gio.ts).
import GLib from 'gi://GLib';

export function readProc(path: string): string {
    const [, data] = GLib.file_get_contents(path);
    return new TextDecoder().decode(data);
}

/** CPU seconds (user + system) of the process or thread whose `stat` file is `path`. */
export function cpuSeconds(path: string): number {
    const s = readProc(path);
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
}
