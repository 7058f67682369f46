// Helpers over FerryNode for tests: device lists, waiting, pairing two nodes.
import GLib from 'gi://GLib';
import {FerryNode} from './netns.js';
import {waitFor} from './proc.js';

export interface Dev {
    id: string; name: string; paired: boolean; reachable: boolean; protocolVersion: number; pairState: string;
    verificationKey: string;
    /** broadcast, mdns or address */
    discoveredBy: string;
}

/**
 * False (and the spec failed in CI, pending elsewhere) when `missing` names something the spec
 * needs; CI has everything, so a missing prerequisite there is a failure, not a skip.
 */
export function requirePrerequisite(missing: string | null): boolean {
    if (!missing)
        return true;
    if (GLib.getenv('CI'))
        fail(`this test needs ${missing}`);
    else
        pending(`needs ${missing}`);
    return false;
}

export function requireRoot(isRoot: boolean): boolean {
    return requirePrerequisite(isRoot ? null : 'root (network namespaces; CI runs as root)');
}

export function devices(node: FerryNode): Promise<Dev[]> {
    return node.json<Dev[]>(['devices']);
}

export function waitDevice(node: FerryNode, name: string, what: string, ms: number, ok: (d: Dev) => boolean): Promise<Dev> {
    return waitFor(`${node.name} to see ${name} ${what}`, ms, async () => (await devices(node)).find(d => d.name === name && ok(d)));
}

export async function pairBoth(a: FerryNode, b: FerryNode): Promise<{keyA: string; keyB: string; pendingKey: string}> {
    const requesting = a.cli(['pair', b.name]);
    const pending = await waitDevice(b, a.name, 'asking to pair', 10000, d => d.pairState === 'requestedByPeer').catch(e => {
        const tail = (n: FerryNode) => n.serveProc?.output.split('\n').slice(-15).join('\n');
        throw new Error(`${e}\n${a.name}:\n${tail(a)}\n${b.name}:\n${tail(b)}`);
    });
    const accepted = await b.cli(['pair', a.name]);
    const requested = await requesting;
    if (accepted.status !== 0 || requested.status !== 0)
        throw new Error(`pairing failed: ${requested.stderr} ${accepted.stderr}`);
    const keyA = /Verification key: (\S+)/.exec(requested.stdout)?.[1] ?? '';
    const keyB = /Verification key: (\S+)/.exec(accepted.stdout)?.[1] ?? '';
    return {keyA, keyB, pendingKey: pending.verificationKey};
}
