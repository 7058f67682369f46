// Command-line parsing for `ferry`: global options, one command, its arguments.
import {DEVICE_TYPES, DeviceType} from '../protocol/limits.js';

export interface GlobalOptions {
    configDir: string | null;
    identity: 'auto' | 'gsconnect' | 'ferry';
    to: string[];
    protocol: number | null;
    name: string | null;
    /** The device type we announce (desktop unless told). */
    type: DeviceType;
    json: boolean;
    wait: number | null;
    receiveDir: string | null;
    /** `ferry id --reset`: put Ferry's own identity aside and make a new one. */
    reset: boolean;
    help: boolean;
}

export interface ParsedArgs {
    options: GlobalOptions;
    command: string | null;
    args: string[];
}

export class UsageError extends Error {
    override name = 'UsageError';
}

const WITH_VALUE = new Set(['--config-dir', '--identity', '--to', '--protocol', '--name', '--type', '--wait', '--receive-dir']);

export function parseArgs(argv: string[]): ParsedArgs {
    const options: GlobalOptions = {configDir: null, identity: 'auto', to: [], protocol: null, name: null, type: 'desktop',
        json: false, wait: null, receiveDir: null, reset: false, help: false};
    let command: string | null = null;
    const args: string[] = [];
    let literal = false;
    for (let i = 0; i < argv.length; i++) {
        let arg = argv[i];
        if (literal || !arg.startsWith('-') || arg === '-') {
            if (command === null && !literal)
                command = arg;
            else
                args.push(arg);
            continue;
        }
        if (arg === '--') {
            literal = true;
            continue;
        }
        let value: string | undefined;
        const eq = arg.indexOf('=');
        if (arg.startsWith('--') && eq > 0) {
            value = arg.slice(eq + 1);
            arg = arg.slice(0, eq);
        }
        if (WITH_VALUE.has(arg) && value === undefined) {
            value = argv[++i];
            if (value === undefined)
                throw new UsageError(`${arg} needs a value`);
        }
        switch (arg) {
        case '--config-dir': options.configDir = value ?? null; break;
        case '--identity':
            if (value !== 'auto' && value !== 'gsconnect' && value !== 'ferry')
                throw new UsageError('--identity takes auto, gsconnect or ferry');
            options.identity = value;
            break;
        case '--to': options.to.push(value ?? ''); break;
        case '--protocol':
            if (value !== '7' && value !== '8')
                throw new UsageError('--protocol takes 7 or 8');
            options.protocol = Number(value);
            break;
        case '--name': options.name = value ?? null; break;
        case '--type':
            if (!(DEVICE_TYPES as readonly string[]).includes(value ?? ''))
                throw new UsageError(`--type takes ${DEVICE_TYPES.join(', ')}`);
            options.type = value as DeviceType;
            break;
        case '--receive-dir': options.receiveDir = value ?? null; break;
        case '--wait': {
            const n = Number(value);
            if (!Number.isFinite(n) || n < 0 || n > 3600)
                throw new UsageError('--wait takes a number of seconds');
            options.wait = n;
            break;
        }
        case '--json': options.json = true; break;
        case '--reset': options.reset = true; break;
        case '-h':
        case '--help': options.help = true; break;
        default: throw new UsageError(`unknown option ${arg}`);
        }
    }
    return {options, command, args};
}

export const COMMANDS: Record<string, {usage: string; summary: string; details: string}> = {
    id: {usage: 'ferry id [--json] [--reset]', summary: "show this computer's KDE Connect identity",
        details: 'Prints the device id, name, identity source (gsconnect or ferry) and protocol version.\n' +
            '--reset puts Ferry\'s own certificate, key and pairings aside (renamed, not deleted) and makes a new\n' +
            'identity: the repair for a broken one. Devices must then pair again. GSConnect\'s identity is never changed.'},
    devices: {usage: 'ferry devices [--json] [--wait SECONDS]', summary: 'list known and reachable devices',
        details: 'Asks the running engine, or runs one for --wait seconds (default 2) to discover devices;\n--wait 0 lists the paired devices without touching the network.'},
    pair: {usage: 'ferry pair DEVICE [--wait SECONDS]', summary: "accept DEVICE's pairing request, or request pairing",
        details: 'Prints the verification key; compare it with the one the device shows. Waits up to 30 s for the answer.'},
    unpair: {usage: 'ferry unpair DEVICE', summary: 'forget a paired device',
        details: 'Tells the device when it is reachable, and removes the pairing from Ferry.'},
    send: {usage: 'ferry send DEVICE FILE…', summary: 'send files (paths or file:// URIs) as one batch',
        details: 'Shows progress; exits 0 only when every file was delivered.'},
    transfers: {usage: 'ferry transfers [--json]', summary: 'list the running engine\'s transfers: the last 256 that ended, then those under way',
        details: 'Each shows its state (active, done, failed, cancelled), the files confirmed so far and, when it failed, why.'},
    cancel: {usage: 'ferry cancel TRANSFER', summary: 'cancel a transfer (its id from ferry transfers)', details: ''},
    'send-text': {usage: 'ferry send-text DEVICE TEXT', summary: 'send text (the device puts it on its clipboard)', details: ''},
    'send-url': {usage: 'ferry send-url DEVICE URL', summary: 'send a link for the device to open', details: ''},
    serve: {usage: 'ferry serve [--receive-dir DIR]', summary: 'run the engine in the foreground',
        details: 'Discovery, links, pairing and receiving, exporting the D-Bus API; prints one line per event\n' +
            '(received text and links included). Files go to --receive-dir (default: Downloads). Stop with Ctrl+C.'},
};

export function usage(): string {
    const lines = ['Usage: ferry [OPTIONS] COMMAND [ARGS]', '', 'Send and receive files with KDE Connect devices.', '', 'Commands:'];
    for (const [name, c] of Object.entries(COMMANDS))
        lines.push(`  ${name.padEnd(10)}${c.summary}`);
    lines.push('', 'Options:',
        '  --config-dir DIR      Ferry\'s config folder (default ~/.config/ferry)',
        '  --identity SOURCE     auto (GSConnect\'s when present), gsconnect or ferry',
        '  --to HOST             also announce to HOST by unicast (repeatable)',
        '  --protocol 7|8        protocol version to speak (default 8)',
        '  --name NAME           this computer\'s device name',
        '  --type TYPE           the device type to announce (desktop, laptop, phone, tablet, tv)',
        '  --receive-dir DIR     where received files go (default: the Downloads folder)',
        '  --json                machine-readable output',
        '  -h, --help            show help (also: ferry COMMAND --help)',
        '', 'DEVICE is a device id or a unique device name.',
        'Exit status: 0 success, 1 failure, 2 usage error, 3 device unknown or unreachable,',
        '4 pairing rejected or timed out, 5 GSConnect is running with the same identity,',
        '6 a transfer failed or was cancelled.');
    return lines.join('\n');
}

export function commandHelp(name: string): string {
    const c = COMMANDS[name];
    return `Usage: ${c.usage}\n\n${c.summary[0].toUpperCase()}${c.summary.slice(1)}.\n${c.details ? `${c.details}\n` : ''}` +
        '\nGlobal options: see ferry --help.';
}
