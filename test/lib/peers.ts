// The real peers the interop suites run against: kdeconnectd and GSConnect from the host
// (Debian 12) and from the cached Debian 13 and Debian unstable root file systems
// (scripts/rig-root.sh; FERRY_TRIXIE_ROOT and FERRY_SID_ROOT, set by scripts/test.sh).
import GLib from 'gi://GLib';
import {haveGSConnect} from './gsconnect.js';
import {haveKdeconnect} from './kdeconnect.js';

export interface PeerKind {
    /** e.g. 'kdeconnectd 26.08' */
    label: string;
    software: 'kdeconnectd' | 'gsconnect' | 'ferry';
    /** The version Debian ships there, as [major, minor]. */
    version: [number, number];
    protocol: 7 | 8;
    /** The root file system to run it from, or null for the host's. */
    root: () => string | null;
    /** null when it can run here, else what is missing. */
    missing: () => string | null;
}

function rootKind(software: PeerKind['software'], label: string, version: [number, number], env: string,
    suite: string): PeerKind {
    const root = () => GLib.getenv(env);
    return {
        label, software, version, protocol: 8, root,
        missing: () => {
            const r = root();
            const present = r && (software === 'kdeconnectd' ? GLib.file_test(`${r}/usr/bin/kdeconnectd`, GLib.FileTest.EXISTS)
                : haveGSConnect(r));
            return present ? null : `${label} in the Debian ${suite} root (${env} from scripts/rig-root.sh ${suite})`;
        },
    };
}

export const KDE_KINDS: PeerKind[] = [
    {label: 'kdeconnectd 22.12', software: 'kdeconnectd', version: [22, 12], protocol: 7, root: () => null,
        missing: () => haveKdeconnect() ? null : 'kdeconnect on the host (apt-get install kdeconnect)'},
    rootKind('kdeconnectd', 'kdeconnectd 25.04', [25, 4], 'FERRY_TRIXIE_ROOT', 'trixie'),
    rootKind('kdeconnectd', 'kdeconnectd 26.08', [26, 8], 'FERRY_SID_ROOT', 'sid'),
];

export const GSCONNECT_KINDS: PeerKind[] = [
    {label: 'GSConnect 54', software: 'gsconnect', version: [54, 0], protocol: 7, root: () => null,
        missing: () => haveGSConnect() ? null : 'GSConnect on the host (apt-get install gnome-shell-extension-gsconnect)'},
    rootKind('gsconnect', 'GSConnect 62', [62, 0], 'FERRY_TRIXIE_ROOT', 'trixie'),
    rootKind('gsconnect', 'GSConnect 74', [74, 0], 'FERRY_SID_ROOT', 'sid'),
];

/**
 * Another Ferry engine, the one peer Ferry's sender has several files under way at once with (it
 * says it fetches two at once): on the host's gjs, and on Debian unstable's gjs 1.90 and GLib.
 */
export const FERRY_KINDS: PeerKind[] = [
    {label: 'Ferry', software: 'ferry', version: [0, 1], protocol: 8, root: () => null, missing: () => null},
    {label: 'Ferry on gjs 1.90', software: 'ferry', version: [0, 1], protocol: 8, root: () => GLib.getenv('FERRY_SID_ROOT'),
        missing: () => {
            const r = GLib.getenv('FERRY_SID_ROOT');
            return r && GLib.file_test(`${r}/usr/bin/gjs`, GLib.FileTest.EXISTS) ? null
                : 'gjs in the Debian sid root (FERRY_SID_ROOT from scripts/rig-root.sh sid)';
        }},
];

/** At least [major, minor]. */
export function atLeast(kind: PeerKind, major: number, minor = 0): boolean {
    return kind.version[0] > major || kind.version[0] === major && kind.version[1] >= minor;
}
