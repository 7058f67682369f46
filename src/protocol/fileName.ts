// Turning the name a peer sent into a safe name inside the receive folder, and numbering
// duplicates the way users expect (`photo (1).jpg`, `archive (1).tar.gz`).

const MAX_NAME_BYTES = 255;
/** Room kept for ` (NNN)` when a duplicate needs a number. */
const SUFFIX_ROOM = 8;
const FALLBACK = 'received-file';
// Control characters (C0, DEL, C1) and the Unicode line/paragraph separators and bidi controls
// that could disguise a name's extension in a file manager.
const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const encoder = new TextEncoder();

function byteLength(s: string): number {
    return encoder.encode(s).length;
}

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, max: number): string {
    if (byteLength(s) <= max)
        return s;
    let out = '';
    let used = 0;
    for (const ch of s) {
        const n = byteLength(ch);
        if (used + n > max)
            break;
        out += ch;
        used += n;
    }
    return out;
}

/** Splits a name into stem and extension; compound extensions like .tar.gz stay together. */
export function splitExtension(name: string): [string, string] {
    const compound = /(\.tar\.(?:gz|bz2|xz|zst|lz|lzma|Z))$/i.exec(name);
    if (compound && compound.index > 0)
        return [name.slice(0, compound.index), compound[1]];
    const dot = name.lastIndexOf('.');
    if (dot <= 0 || dot === name.length - 1 || name.length - dot > 16)
        return [name, ''];
    return [name.slice(0, dot), name.slice(dot)];
}

/**
 * The basename of what the peer sent (after `/` and `\`), without NUL and control characters,
 * not `.`/`..`/empty, not hidden by leading dots, at most 255 UTF-8 bytes with the extension kept.
 */
export function sanitizeFileName(raw: unknown): string {
    let name = typeof raw === 'string' ? raw : '';
    name = name.replace(/\0/g, '');
    const parts = name.split(/[/\\]/);
    name = parts[parts.length - 1] ?? '';
    name = name.replace(UNSAFE, '').trim();
    // leading dots would hide the file or form `..`; trailing dots and spaces confuse other systems
    name = name.replace(/^\.+/, '').replace(/[. ]+$/, '');
    if (!name)
        return FALLBACK;
    const limit = MAX_NAME_BYTES - SUFFIX_ROOM;
    if (byteLength(name) > limit) {
        const [stem, ext] = splitExtension(name);
        const keepExt = byteLength(ext) < 32 ? ext : '';
        name = truncateUtf8(stem, limit - byteLength(keepExt)).trim() + keepExt;
    }
    return name || FALLBACK;
}

/** The n-th candidate for `name`: n = 0 is the name itself, then `stem (n).ext`. */
export function numberedName(name: string, n: number): string {
    if (n === 0)
        return name;
    const [stem, ext] = splitExtension(name);
    return `${stem} (${n})${ext}`;
}
