// Reads packets, one JSON line each, from an input stream, with a bound on the line length.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {LineSplitter, Packet, decodePacket, PacketError} from '../protocol/packet.js';
import {readBytes} from './gio.js';

const READ_CHUNK = 16384;

export class PacketReader {
    private splitter: LineSplitter;
    private lines: Uint8Array[] = [];
    private eof = false;

    constructor(private readonly input: Gio.InputStream, private maxBytes: number) {
        this.splitter = new LineSplitter(maxBytes);
    }

    setLimit(maxBytes: number): void {
        this.maxBytes = maxBytes;
        this.splitter.setLimit(maxBytes);
    }

    /** Bytes read past the last complete line. */
    get buffered(): number {
        return this.splitter.buffered + this.lines.length;
    }

    /** The next raw line, or null at end of stream. Throws PacketError when a line is too long. */
    async readLine(cancellable: Gio.Cancellable | null): Promise<Uint8Array | null> {
        while (this.lines.length === 0) {
            if (this.eof)
                return null;
            const bytes = await readBytes(this.input, READ_CHUNK, GLib.PRIORITY_DEFAULT, cancellable);
            const data = bytes.toArray();
            if (data.length === 0) {
                this.eof = true;
                if (this.splitter.buffered > 0)
                    throw new PacketError('connection closed in the middle of a packet');
                return null;
            }
            this.lines.push(...this.splitter.push(data));
        }
        return this.lines.shift() ?? null;
    }

    /**
     * The next packet, or null at end of stream. A malformed line is returned as a PacketError
     * value (the stream stays usable); an over-long line throws.
     */
    async read(cancellable: Gio.Cancellable | null): Promise<Packet | PacketError | null> {
        const line = await this.readLine(cancellable);
        if (line === null)
            return null;
        try {
            return decodePacket(line, this.maxBytes);
        } catch (e) {
            if (e instanceof PacketError)
                return e;
            throw e;
        }
    }
}
