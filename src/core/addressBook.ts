// Devices by address: host names and addresses Ferry announces itself to by unicast, for networks
// where neither broadcasts nor multicast DNS pass. From `--to`, config.json's "hosts" and the
// shell's preferences; names are resolved without blocking, again whenever asked (on network
// changes: a name may now mean another address).
import Gio from 'gi://Gio';
import {errorMessage} from '../net/gio.js';

/** A list, not a scan: at most this many names from each source. */
const MAX_NAMES = 32;

export class AddressBook {
    /** The addresses announced to (resolved). */
    readonly addresses: Gio.InetAddress[] = [];
    private listedNames: string[] = [];

    constructor(private readonly log: (line: string) => void, private readonly cancellable: Gio.Cancellable) {}

    /** The names the shell's preferences hold. */
    get listed(): string[] {
        return this.listedNames;
    }

    set listed(names: string[]) {
        this.listedNames = clean(names);
    }

    /** Resolves `others` and the listed names; one that does not resolve is logged and left out until the next time. */
    async resolveAll(others: string[]): Promise<void> {
        const names = [...new Set([...clean(others), ...this.listedNames])];
        const found: Gio.InetAddress[] = [];
        for (const name of names) {
            try {
                found.push(...await lookUp(name, this.cancellable));
            } catch (e) {
                if (this.cancellable.is_cancelled())
                    return;
                this.log(`device address ${name}: ${errorMessage(e)}`);
            }
        }
        this.addresses.splice(0, this.addresses.length, ...found);
    }
}

function clean(names: string[]): string[] {
    return names.map(n => n.trim()).filter(n => n.length > 0 && n.length <= 253).slice(0, MAX_NAMES);
}

/** The IPv4 addresses of `host` (a literal address is itself). */
export function lookUp(host: string, cancellable: Gio.Cancellable | null): Promise<Gio.InetAddress[]> {
    const literal = Gio.InetAddress.new_from_string(host);
    if (literal)
        return Promise.resolve([literal]);
    const resolver = Gio.Resolver.get_default();
    return new Promise((resolve, reject) => {
        resolver.lookup_by_name_async(host, cancellable, (_r, res) => {
            try {
                resolve(resolver.lookup_by_name_finish(res).filter(a => a.family === Gio.SocketFamily.IPV4));
            } catch (e) {
                reject(new Error(`cannot resolve ${host}: ${errorMessage(e)}`));
            }
        });
    });
}
