// The scripted peer of test/tools/peer.ts ("Evil"), trusted by a Ferry node as after pairing:
// it sends packets and payloads exactly as a scenario says, well-formed or hostile.
import GLib from 'gi://GLib';
import {readTextFile} from './certs.js';
import {FerryNode} from './netns.js';
import {Background, ROOT, check, run} from './proc.js';

export type Step = Record<string, unknown>;

const SCENARIO_LIMIT_MS = 120_000;

/** A share of one file whose payload the peer serves: `send` bytes of it, then `behaviour`. */
export function fileStep(name: unknown, size: number, send = size, extra: Record<string, unknown> = {}): Step {
    return {packet: {type: 'kdeconnect.share.request', body: {filename: name, numberOfFiles: 1, totalPayloadSize: size},
        payloadSize: size}, payload: {send, behaviour: 'close', ...extra}};
}

export class ScriptedPeer {
    /** The scenario running now, if any (its output so far, for diagnostics). */
    current: Background | null = null;

    private constructor(readonly dir: string, readonly id: string, private readonly target: FerryNode, private readonly ns: string) {}

    /** Makes the peer's identity and has `target` (not yet serving) and the peer trust each other. */
    static async create(target: FerryNode, ns: string): Promise<ScriptedPeer> {
        const dir = GLib.dir_make_tmp('ferry-evil-XXXXXX') ?? '';
        const targetId = (await target.json<{id: string}>(['id'])).id;
        const id = (JSON.parse(await check([`${ROOT}/bin/ferry`, '--config-dir', dir, '--identity', 'ferry', 'id', '--json'],
            {HOME: dir})) as {id: string}).id;
        const trust = (deviceId: string, name: string, pemPath: string) => JSON.stringify({version: 1, revoked: {},
            devices: {[deviceId]: {name, type: 'phone', certificatePem: readTextFile(pemPath), protocolVersion: 8}}});
        GLib.file_set_contents(`${target.configDir}/devices.json`, new TextEncoder().encode(trust(id, 'Evil', `${dir}/certificate.pem`)));
        GLib.file_set_contents(`${dir}/devices.json`, new TextEncoder().encode(trust(targetId, target.name, `${target.configDir}/certificate.pem`)));
        return new ScriptedPeer(dir, id, target, ns);
    }

    /** Runs a scenario to its end; returns the peer's output (one "step N outcome" line per step). */
    async run(steps: Step[]): Promise<string> {
        const path = `${this.dir}/scenario.json`;
        GLib.file_set_contents(path, new TextEncoder().encode(JSON.stringify(steps)));
        const targetId = (await this.target.json<{id: string}>(['id'])).id;
        const peer = new Background(['ip', 'netns', 'exec', this.ns, 'gjs', '-m', `${ROOT}/build/test/peer.js`, this.dir, targetId, path],
            {HOME: this.dir});
        this.current = peer;
        // a scenario that hangs must not outlive the test (nor the namespace it runs in)
        let timedOut = false;
        const timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, SCENARIO_LIMIT_MS, () => {
            timedOut = true;
            peer.kill().catch(() => undefined);
            return GLib.SOURCE_REMOVE;
        });
        const code = await peer.exited;
        if (!timedOut)
            GLib.source_remove(timer);
        this.current = null;
        if (timedOut)
            throw new Error(`the scripted peer did not finish within ${SCENARIO_LIMIT_MS / 1000} s:\n${peer.output}`);
        if (code !== 0)
            throw new Error(`the scripted peer exited ${code}:\n${peer.output}`);
        return peer.output;
    }

    async destroy(): Promise<void> {
        await run(['rm', '-rf', this.dir]);
    }
}
