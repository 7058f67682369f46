// Per-file timestamps for the benchmark's breakdown of where a file's milliseconds go. Off
// unless a sink is set (bench/node.ts sets one); then each call costs one monotonic clock read.
import GLib from 'gi://GLib';

/** `event` names a step of one file's path (rx.* receiving, tx.* sending); `key` is the file's name. */
export type TraceSink = (event: string, key: string, timeUs: number) => void;

let sink: TraceSink | null = null;

export function setTraceSink(s: TraceSink | null): void {
    sink = s;
}

export function trace(event: string, key: string): void {
    if (sink)
        sink(event, key, GLib.get_monotonic_time());
}
