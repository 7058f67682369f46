// Device-name rules shared by kdeconnectd, Android and GSConnect.
import {DEVICE_NAME_MAX_CHARS} from './limits.js';

const FORBIDDEN_NAME_CHARS = /["',;:.!?()[\]<>]/gu;
// Control characters and the Unicode line/paragraph separators would break one-line output.
const CONTROL_CHARS = /[\p{Cc}\u2028\u2029]/gu;

/**
 * Removes the characters peers refuse in device names and cuts the result to 32 characters
 * (code points, so that no surrogate pair is split). Returns '' when nothing is left.
 */
export function sanitizeDeviceName(name: string): string {
    const cleaned = name.replace(CONTROL_CHARS, ' ').replace(FORBIDDEN_NAME_CHARS, '').trim();
    return Array.from(cleaned).slice(0, DEVICE_NAME_MAX_CHARS).join('').trim();
}
