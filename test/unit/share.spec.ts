import {numberedName, sanitizeFileName, splitExtension, truncateUtf8} from '../../src/protocol/fileName.js';
import {decodePacket} from '../../src/protocol/packet.js';
import {
    FETCHES_PER_DEVICE, PACKET_FERRY_FETCHES, ShareError, fetchesPacket, fileShareRequest, parseFetches, parseShareRequest,
} from '../../src/protocol/share.js';

const utf8 = (s: string) => new TextEncoder().encode(s).length;

/** Hostile names a peer might send, and what must come of them. */
export const HOSTILE_NAMES: [string, string][] = [
    ['../../etc/passwd', 'passwd'],
    ['../../../../../../root/.bashrc', 'bashrc'],
    ['/etc/shadow', 'shadow'],
    ['/', 'received-file'],
    ['', 'received-file'],
    ['.', 'received-file'],
    ['..', 'received-file'],
    ['...', 'received-file'],
    ['....//....//x', 'x'],
    ['..\\..\\windows\\system32\\evil.dll', 'evil.dll'],
    ['C:\\Users\\me\\doc.txt', 'doc.txt'],
    ['dir/', 'received-file'],
    ['a/b/c/', 'received-file'],
    ['nul\0byte.txt', 'nulbyte.txt'],
    ['\0', 'received-file'],
    ['line\nbreak.txt', 'linebreak.txt'],
    ['carriage\rreturn.txt', 'carriagereturn.txt'],
    ['tab\there.txt', 'tabhere.txt'],
    ['esc\x1b[31mred.txt', 'esc[31mred.txt'],
    ['del\x7f.txt', 'del.txt'],
    ['c1\x85\x9b.txt', 'c1.txt'],
    ['.bashrc', 'bashrc'],
    ['..hidden', 'hidden'],
    ['.../x', 'x'],
    ['trailing dots...', 'trailing dots'],
    ['trailing space   ', 'trailing space'],
    ['   ', 'received-file'],
    ['right\u202eexe.txt', 'rightexe.txt'],
    ['isolate\u2066x\u2069.pdf', 'isolatex.pdf'],
    ['sep\u2028ara\u2029tor.txt', 'separator.txt'],
    ['~/.ssh/authorized_keys', 'authorized_keys'],
    ['$HOME', '$HOME'],
    ['name with spaces.txt', 'name with spaces.txt'],
    ['Zażółć gęślą jaźń.pdf', 'Zażółć gęślą jaźń.pdf'],
    ['emoji 😀.png', 'emoji 😀.png'],
];

describe('received file names', () => {
    for (const [input, output] of HOSTILE_NAMES) {
        it(`turns ${JSON.stringify(input)} into ${JSON.stringify(output)}`, () => {
            const got = sanitizeFileName(input);
            expect(got).toBe(output);
            expect(got).not.toMatch(/[/\\\0]/);
            expect(got.startsWith('.')).toBeFalse();
        });
    }

    it('takes non-strings as the fallback name', () => {
        expect(sanitizeFileName(42)).toBe('received-file');
        expect(sanitizeFileName(null)).toBe('received-file');
    });

    it('cuts 300-byte names to fit 255 bytes with a number, keeping the extension and whole characters', () => {
        const ascii = sanitizeFileName(`${'a'.repeat(300)}.jpeg`);
        expect(ascii.endsWith('.jpeg')).toBeTrue();
        expect(utf8(numberedName(ascii, 999))).toBeLessThanOrEqual(255);
        const polish = sanitizeFileName(`${'ż'.repeat(200)}.txt`); // 2 bytes a character
        expect(polish.endsWith('.txt')).toBeTrue();
        expect(utf8(numberedName(polish, 999))).toBeLessThanOrEqual(255);
        expect(polish).toMatch(/^ż+\.txt$/);
        const emoji = sanitizeFileName('😀'.repeat(100)); // 4 bytes, no extension
        expect(utf8(emoji)).toBeLessThanOrEqual(247);
        expect(emoji).toMatch(/^(😀)+$/u);
        const longExt = sanitizeFileName(`a.${'x'.repeat(300)}`);
        expect(utf8(longExt)).toBeLessThanOrEqual(247);
    });

    it('cuts UTF-8 without splitting a character', () => {
        expect(truncateUtf8('aż', 2)).toBe('a');
        expect(truncateUtf8('aż', 3)).toBe('aż');
        expect(truncateUtf8('😀x', 3)).toBe('');
    });

    it('numbers duplicates before the extension, compound ones included', () => {
        expect(numberedName('photo.jpg', 0)).toBe('photo.jpg');
        expect(numberedName('photo.jpg', 1)).toBe('photo (1).jpg');
        expect(numberedName('archive.tar.gz', 2)).toBe('archive (2).tar.gz');
        expect(numberedName('README', 3)).toBe('README (3)');
        expect(numberedName('.tar.gz', 1)).toBe('.tar (1).gz');
        expect(splitExtension('a.b.c')).toEqual(['a.b', '.c']);
        expect(splitExtension('noext.')).toEqual(['noext.', '']);
    });
});

describe('share request validation', () => {
    const file = (extra: string) => decodePacket(
        `{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a.txt"${extra}},"payloadSize":5,"payloadTransferInfo":{"port":1739}}`);

    it('accepts a file with totals and mtime, numbers as strings included', () => {
        const r = parseShareRequest(decodePacket('{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a.txt",' +
            '"lastModified":"1700000000123","numberOfFiles":"3","totalPayloadSize":99,"open":false},"payloadSize":"5",' +
            '"payloadTransferInfo":{"port":"1764"}}'));
        expect(r).toEqual({kind: 'file', filename: 'a.txt', size: 5, port: 1764, open: false, lastModified: 1700000000123,
            numberOfFiles: 3, totalPayloadSize: 99});
    });

    it('takes a file without payload and with size 0 or none as an empty file (kdeconnectd)', () => {
        for (const size of ['', ',"payloadSize":0']) {
            const r = parseShareRequest(decodePacket(`{"id":1,"type":"kdeconnect.share.request","body":{"filename":"e.txt"}${size}}`));
            expect(r).toEqual(jasmine.objectContaining({kind: 'file', filename: 'e.txt', size: 0, port: 0}));
        }
    });

    it('accepts payloadSize -1 (Android) as unknown length', () => {
        const p = file('');
        p.payloadSize = -1;
        expect(parseShareRequest(p)).toEqual(jasmine.objectContaining({kind: 'file', size: -1}));
    });

    const refused: [string, string, RegExp][] = [
        ['a port below 1739', '{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a"},"payloadSize":5,"payloadTransferInfo":{"port":1738}}', /outside 1739/],
        ['a port above 1764', '{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a"},"payloadSize":5,"payloadTransferInfo":{"port":22}}', /outside 1739/],
        ['no payloadSize', '{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a"},"payloadTransferInfo":{"port":1739}}', /without payloadSize/],
        ['no transfer info', '{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a"},"payloadSize":3}', /without payloadTransferInfo/],
        ['a numeric filename', '{"id":1,"type":"kdeconnect.share.request","body":{"filename":7},"payloadSize":3,"payloadTransferInfo":{"port":1739}}', /not a string/],
        ['nothing to share', '{"id":1,"type":"kdeconnect.share.request","body":{}}', /neither filename/],
        ['a url without scheme', '{"id":1,"type":"kdeconnect.share.request","body":{"url":"example.org"}}', /not a URL/],
    ];
    for (const [what, line, reason] of refused) {
        it(`refuses ${what}`, () => {
            expect(() => parseShareRequest(decodePacket(line))).toThrowMatching(e => e instanceof ShareError && reason.test(e.message));
        });
    }

    it('refuses negative sizes other than -1 already in the codec', () => {
        expect(() => decodePacket('{"id":1,"type":"kdeconnect.share.request","body":{"filename":"a"},"payloadSize":-5,' +
            '"payloadTransferInfo":{"port":1739}}')).toThrowError(/invalid payloadSize/);
    });

    it('reads text, links and batch updates', () => {
        expect(parseShareRequest(decodePacket('{"id":1,"type":"kdeconnect.share.request","body":{"text":"hi"}}'))).toEqual({kind: 'text', text: 'hi'});
        expect(parseShareRequest(decodePacket('{"id":1,"type":"kdeconnect.share.request","body":{"url":"https://x.y/"}}'))).toEqual({kind: 'url', url: 'https://x.y/'});
        expect(parseShareRequest(decodePacket('{"id":1,"type":"kdeconnect.share.request.update","body":{"numberOfFiles":4,"totalPayloadSize":10}}')))
            .toEqual({kind: 'update', numberOfFiles: 4, totalPayloadSize: 10});
    });

    it('announces files with exact size, port, name, mtime and totals', () => {
        const p = fileShareRequest({filename: 'x.bin', size: 10, port: 1740, lastModified: 123, numberOfFiles: 2, totalPayloadSize: 30});
        expect(p.type).toBe('kdeconnect.share.request');
        expect(p.payloadSize).toBe(10);
        expect(p.payloadTransferInfo).toEqual({port: 1740});
        expect(p.body).toEqual({filename: 'x.bin', lastModified: 123, open: false, numberOfFiles: 2, totalPayloadSize: 30});
    });

    it('announces an empty file without a payload, as kdeconnectd does, and reads that back as an empty file', () => {
        const p = fileShareRequest({filename: 'empty.txt', size: 0, port: null, lastModified: 5, numberOfFiles: 3, totalPayloadSize: 9});
        expect(p.payloadSize).toBeUndefined();
        expect(p.payloadTransferInfo).toBeUndefined();
        expect(parseShareRequest(p)).toEqual(jasmine.objectContaining({kind: 'file', filename: 'empty.txt', size: 0, port: 0,
            numberOfFiles: 3, totalPayloadSize: 9}));
    });
});

describe('how many files a Ferry fetches at once', () => {
    const said = (fetchesAtOnce: unknown) =>
        parseFetches(decodePacket(JSON.stringify({id: 1, type: PACKET_FERRY_FETCHES, body: {fetchesAtOnce}})));

    it('says what our receiver fetches, and reads it back', () => {
        const p = fetchesPacket(FETCHES_PER_DEVICE);
        expect(p.type).toBe('ferry.share.fetches');
        expect(parseFetches(decodePacket(JSON.stringify(p)))).toBe(FETCHES_PER_DEVICE);
        expect(said(16)).toBe(16);
        expect(said('3')).toBe(3);
    });

    it('takes anything else for one file at a time', () => {
        for (const hostile of [0, -1, 17, 1e9, 2.5, 'many', null, [2], {n: 2}, true, undefined])
            expect(said(hostile)).withContext(JSON.stringify(hostile) ?? 'undefined').toBe(1);
    });
});
