// Batches of files generated from a seed, for the transfer matrix: nobody picks the sizes, the
// order or the names by hand. The seed is printed; FERRY_MATRIX_SEED=N repeats a run.
import GLib from 'gi://GLib';
import {check} from './proc.js';
import {prng} from './prng.js';

const MiB = 1024 * 1024;
/** The edges of record, buffer and page sizes, and one large file of random size. */
const SIZES: (number | 'large')[] = [0, 1, 7, 4095, 4096, 4097, 65535, 65536, MiB + 1, 'large'];
/** Hostile but legal names: spaces, Polish letters, emoji, dots, leading dashes. */
const NAMES = [
    'zdjęcie z wakacji.jpg', 'Zażółć gęślą jaźń.txt', '🎉 party 🎂.png', 'v1.2.3.tar.gz', '-rf notes.txt',
    '--help.md', 'Łódź – plan.pdf', 'a.b.c.d', 'spaces  inside  .odt', 'ĄĘŚĆ 😀 mix.bin', 'report (final).docx',
    'x', 'ünïcödé ñ.csv', '-', 'dots...between.txt', 'emoji 👩‍👩‍👧 family.heic',
];

export interface GenFile {
    name: string;
    size: number;
}

export interface Batch {
    seed: number;
    files: GenFile[];
}

/** 1–8 files of sizes from SIZES in random order, distinct names from NAMES. */
export function generateBatch(seed: number): Batch {
    const rnd = prng(seed);
    const count = 1 + Math.floor(rnd() * 8);
    const names = [...NAMES];
    const files: GenFile[] = [];
    for (let i = 0; i < count; i++) {
        const pick = SIZES[Math.floor(rnd() * SIZES.length)];
        const size = pick === 'large' ? 3 * MiB + Math.floor(rnd() * 21 * MiB) : pick;
        const name = names.splice(Math.floor(rnd() * names.length), 1)[0];
        files.push({name, size});
    }
    return {seed, files};
}

/** `count` files of `size` bytes with plain distinct names (the many-small-files case). */
export function uniformBatch(count: number, size: number, prefix: string): GenFile[] {
    return Array.from({length: count}, (_, i) => ({name: `${prefix} ${String(i + 1).padStart(3, '0')}.bin`, size}));
}

/** The run's base seed: FERRY_MATRIX_SEED, or a fresh one. */
export function baseSeed(): number {
    const fixed = GLib.getenv('FERRY_MATRIX_SEED');
    if (fixed && /^\d+$/.test(fixed))
        return Number(fixed);
    return Math.floor(Math.random() * 1e9);
}

/** Writes random content for each file into `dir`. */
export async function writeFiles(dir: string, files: GenFile[]): Promise<void> {
    await check(['mkdir', '-p', dir]);
    // one shell per 50 files: a process per file would dominate a 200-file batch
    for (let i = 0; i < files.length; i += 50) {
        const chunk = files.slice(i, i + 50);
        const body = chunk.map((_, k) => `head -c "\${${2 * k + 2}}" /dev/urandom > "$1/\${${2 * k + 3}}"`).join('\n');
        await check(['sh', '-c', body, 'sh', dir, ...chunk.flatMap(f => [String(f.size), f.name])]);
    }
}

/** sha256 of each file, by name, in one sha256sum call per 100 files; a missing file maps to null. */
export async function hashes(dir: string, names: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (let i = 0; i < names.length; i += 100) {
        const chunk = names.slice(i, i + 100);
        const script = 'cd "$1" && shift && for f in "$@"; do if [ -f "$f" ]; then sha256sum < "$f" | cut -c1-64; else echo -; fi; done';
        const lines = (await check(['sh', '-c', script, 'sh', dir, ...chunk.map(n => `./${n}`)])).trim().split('\n');
        chunk.forEach((n, k) => out.set(n, lines[k] === '-' ? null : lines[k]));
    }
    return out;
}

export function describeBatch(files: GenFile[]): string {
    return files.map(f => `${JSON.stringify(f.name)}:${f.size}`).join(', ');
}
