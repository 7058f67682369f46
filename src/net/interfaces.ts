// The IPv4 broadcast address and the addresses of each interface. Gio has no interface list, but the kernel's
// /proc/net/fib_trie names every local broadcast address ("/32 link BROADCAST").
import Gio from 'gi://Gio';
import {decoder} from './gio.js';

/**
 * The addresses of /proc/net/fib_trie's leaves that carry a line matching `kind` ("/32 link
 * BROADCAST", "/32 host LOCAL"), loopback and the limited broadcast excluded, without duplicates.
 */
function fibTrieLeaves(text: string, kind: RegExp): string[] {
    const found = new Set<string>();
    let current: string | null = null;
    for (const line of text.split('\n')) {
        const leaf = /[|`]-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
        if (leaf) {
            current = leaf[1];
            continue;
        }
        if (current && kind.test(line) && !current.startsWith('127.') && current !== '255.255.255.255')
            found.add(current);
    }
    return [...found];
}

/** Parses /proc/net/fib_trie; returns the broadcast addresses. */
export function parseFibTrieBroadcasts(text: string): string[] {
    return fibTrieLeaves(text, /\/32 link BROADCAST/);
}

/** Parses /proc/net/fib_trie; returns this host's own IPv4 addresses. */
export function parseFibTrieLocals(text: string): string[] {
    return fibTrieLeaves(text, /\/32 host LOCAL/);
}

async function fibTrie(): Promise<string> {
    try {
        const [data] = await Gio.File.new_for_path('/proc/net/fib_trie').load_contents_async(null);
        return decoder.decode(data);
    } catch {
        return '';
    }
}

export async function interfaceBroadcasts(): Promise<string[]> {
    return parseFibTrieBroadcasts(await fibTrie());
}

/** The host's own IPv4 addresses (what its multicast DNS A records say). */
export async function interfaceAddresses(): Promise<string[]> {
    return parseFibTrieLocals(await fibTrie());
}
