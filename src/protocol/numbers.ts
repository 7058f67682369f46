// Peers send numbers as JSON numbers or as strings (Android sends targetProtocolVersion as a
// string); these parse both and refuse everything else.

/** An integer from a number or a decimal string; undefined when it is neither. */
export function parseInteger(value: unknown): number | undefined {
    if (typeof value === 'number')
        return Number.isSafeInteger(value) ? value : undefined;
    if (typeof value === 'string' && /^\s*[-+]?\d{1,16}\s*$/.test(value)) {
        const n = Number(value.trim());
        return Number.isSafeInteger(n) ? n : undefined;
    }
    return undefined;
}

/** A boolean from true/false or the strings "true"/"false". */
export function parseBoolean(value: unknown): boolean | undefined {
    if (typeof value === 'boolean')
        return value;
    if (value === 'true' || value === 'false')
        return value === 'true';
    return undefined;
}
