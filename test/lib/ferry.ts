// Helpers over FerryNode for tests: device lists, waiting, pairing two nodes.
import GLib from 'gi://GLib';
import {FerryNode} from './netns.js';
import {waitFor} from './proc.js';

export interface Dev {
    id: string; name: string; paired: boolean; reachable: boolean; protocolVersion: number; pairState: string;
    verificationKey: string;
}

export function requireRoot(isRoot: boolean): boolean {
    if (isRoot)
        return true;
    if (GLib.getenv('CI'))
        fail('the integration tests need root (network namespaces); CI runs as root');
    else
        pending('needs root for network namespaces (run the tests as root, as CI does)');
    return false;
}

export function devices(node: FerryNode): Promise<Dev[]> {
    return node.json<Dev[]>(['devices']);
}

export function waitDevice(node: FerryNode, name: string, what: string, ms: number, ok: (d: Dev) => boolean): Promise<Dev> {
    return waitFor(`${node.name} to see ${name} ${what}`, ms, async () => (await devices(node)).find(d => d.name === name && ok(d)));
}

export async function pairBoth(a: FerryNode, b: FerryNode): Promise<{keyA: string; keyB: string; pendingKey: string}> {
    const requesting = a.cli(['pair', b.name]);
    const pending = await waitDevice(b, a.name, 'asking to pair', 10000, d => d.pairState === 'requestedByPeer');
    const accepted = await b.cli(['pair', a.name]);
    const requested = await requesting;
    if (accepted.status !== 0 || requested.status !== 0)
        throw new Error(`pairing failed: ${requested.stderr} ${accepted.stderr}`);
    const keyA = /Verification key: (\S+)/.exec(requested.stdout)?.[1] ?? '';
    const keyB = /Verification key: (\S+)/.exec(accepted.stdout)?.[1] ?? '';
    return {keyA, keyB, pendingKey: pending.verificationKey};
}
