// The share service: files, text and links to and from paired devices (kdeconnect.share.request).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {Emitter} from '../lib/emitter.js';
import {trace} from '../lib/trace.js';
import {Semaphore} from '../lib/semaphore.js';
import {errorMessage, isCancelled} from '../net/gio.js';
import {Link} from '../net/link.js';
import {receivePayload, refusePayload} from '../net/payload.js';
import {sanitizeFileName} from '../protocol/fileName.js';
import {PACKET_SHARE_REQUEST, PACKET_SHARE_UPDATE} from '../protocol/limits.js';
import {makePacket, Packet} from '../protocol/packet.js';
import {
    FETCHES_PER_DEVICE, PACKET_FERRY_FETCHES, ShareError, ShareRequest, fetchesPacket, parseFetches, parseShareRequest,
} from '../protocol/share.js';
import {Device} from './device.js';
import {Engine, EngineError} from './engine.js';
import {peerCertificateFromPem} from './identity/certificate.js';
import {PartialFile} from './receiveFile.js';
import {OutgoingFile, Sender} from './sendBatch.js';
import {Transfer, TransferInfo} from './transfer.js';

export type {TransferInfo, TransferState} from './transfer.js';

/** Each threaded transfer holds one of GLib's shared worker threads: run at most this many at once. */
const MAX_CONCURRENT_TRANSFERS = 4;

/**
 * How many ended transfers `list()` still shows (what `ferry transfers` and ListTransfers
 * report): GSConnect sends each file as a transfer of its own, so a day's photos are many.
 */
const ENDED_KEPT = 256;

export interface ShareOptions {
    /** Ferry's receive folder; empty: the XDG Download folder. */
    receiveDirectory?: string;
    /** Devices whose files are refused. */
    receiveDisabled?: string[];
}

export type ShareEvents = {
    transfer: [TransferInfo];
    text: [Device, string];
    url: [Device, string];
    log: [string];
};

interface IncomingBatch {
    transfer: Transfer;
    /** Bytes of the files fetched so far. */
    doneBytes: number;
    /** The timer that ends a batch whose sender went quiet between files (0: none). */
    idle: number;
    /** Files taken into the batch: fetched, being fetched or failed. */
    claimed: number;
    /** Files whose bytes are all in, placed or not. */
    fetched: number;
    /** Files of the batch being fetched now. */
    inFlight: number;
    /** The batch's files are named and dated in order, each while the next one is fetched. */
    placing: Promise<void>;
}

/**
 * A batch whose sender announces nothing for this long after a file is over: kdeconnectd 22.12
 * and 25.04 stop at an empty file (docs/interop.md, quirk 9), a sender may be restarted. Its
 * payload servers give up after 30 s without a connection too.
 */
const BATCH_IDLE_MS = 30_000;

export class ShareService extends Emitter<ShareEvents> {
    private readonly transfers = new Map<string, Transfer>();
    private readonly ended: TransferInfo[] = [];
    private readonly incoming = new Map<string, IncomingBatch>();
    /** Each device's fetches, FETCHES_PER_DEVICE at once, started in the order announced. */
    private readonly lanes = new Map<string, Semaphore>();
    private readonly slots = new Semaphore(MAX_CONCURRENT_TRANSFERS);
    /** Links on which we said how many files we fetch at once (PACKET_FERRY_FETCHES). */
    private readonly toldFetches = new WeakSet<Link>();
    private readonly sender: Sender;
    private offPacket: (() => void) | null = null;

    constructor(private readonly engine: Engine, private readonly options: ShareOptions = {}) {
        super();
        this.offPacket = engine.on('packet', (device, packet) => this.onPacket(device, packet));
        this.sender = new Sender(engine, this.slots, line => this.emit('log', line));
    }

    destroy(): void {
        this.offPacket?.();
        this.offPacket = null;
        for (const batch of this.incoming.values())
            this.stopIdle(batch);
        for (const t of [...this.transfers.values()]) {
            t.cancelTrailing();
            this.cancel(t.info.id);
        }
        this.sender.destroy();
        this.disconnectAll();
    }

    forget(t: Transfer): void {
        this.transfers.delete(t.info.id);
        this.ended.push({...t.info, files: [...t.info.files]});
        if (this.ended.length > ENDED_KEPT)
            this.ended.shift();
        for (const [id, batch] of this.incoming) {
            if (batch.transfer === t) {
                this.stopIdle(batch);
                this.incoming.delete(id);
            }
        }
    }

    /** The transfers under way, after the last ENDED_KEPT that ended (oldest first). */
    list(): TransferInfo[] {
        return [...this.ended.map(t => ({...t, files: [...t.files]})), ...[...this.transfers.values()].map(t => ({...t.info, files: [...t.info.files]}))];
    }

    cancel(id: string): boolean {
        const t = this.transfers.get(id);
        if (!t)
            return false;
        t.cancellable.cancel();
        return true;
    }

    private receiveDirectory(device: Device): string {
        return device.trusted?.receiveDirectory || this.options.receiveDirectory || this.engine.settings.receiveDirectory ||
            GLib.get_user_special_dir(GLib.UserDirectory.DIRECTORY_DOWNLOAD) ||
            GLib.build_filenamev([GLib.get_home_dir(), 'Downloads']);
    }

    private receiveAllowed(device: Device): boolean {
        const disabled = [...this.options.receiveDisabled ?? [], ...this.engine.settings.receiveDisabled ?? []];
        return device.trusted?.receiveFiles !== false && !disabled.includes(device.id);
    }

    /** Runs jobs of one device in the order they came, as peers send files in sequence. */
    private enqueue(device: Device, job: () => Promise<void>): void {
        let lane = this.lanes.get(device.id);
        if (!lane) {
            lane = new Semaphore(FETCHES_PER_DEVICE);
            this.lanes.set(device.id, lane);
        }
        lane.run(job).catch(e => this.emit('log', `${device.name}: ${errorMessage(e)}`));
    }

    private onPacket(device: Device, packet: Packet): void {
        if (packet.type === PACKET_FERRY_FETCHES) {
            device.fetchesAtOnce = parseFetches(packet);
            return;
        }
        if (packet.type !== PACKET_SHARE_REQUEST && packet.type !== PACKET_SHARE_UPDATE)
            return;
        let request: ShareRequest;
        try {
            request = parseShareRequest(packet);
        } catch (e) {
            this.engine.peerLog(device, 'refused', `${device.name}: refused a share request: ${e instanceof ShareError ? e.message : errorMessage(e)}`);
            return;
        }
        switch (request.kind) {
        case 'text':
            // no log line: the text may be a password on its way to the clipboard, and each face
            // delivers it in its own way (the shell's clipboard, `ferry serve`'s output)
            this.emit('text', device, request.text);
            break;
        case 'url':
            this.emit('url', device, request.url);
            break;
        case 'update': {
            const batch = this.incoming.get(device.id);
            if (batch) {
                batch.transfer.info.numberOfFiles = request.numberOfFiles ?? batch.transfer.info.numberOfFiles;
                batch.transfer.info.totalBytes = request.totalPayloadSize ?? batch.transfer.info.totalBytes;
                batch.transfer.update(true);
            }
            break;
        }
        case 'file': {
            trace('rx.announced', request.filename);
            const address = device.link?.remoteAddress;
            if (!address)
                return;
            if (!this.receiveAllowed(device)) {
                this.engine.peerLog(device, 'refused', `${device.name}: refused "${request.filename}": receiving files from this device is off`);
                if (request.port !== 0)
                    refusePayload(address, request.port).catch(() => undefined);
                return;
            }
            this.tellFetches(device);
            this.enqueue(device, () => this.receiveFile(device, address, request));
        }
        }
    }

    /** Tells a device that sends us files how many we fetch at once: once per link (a Ferry then overlaps them). */
    private tellFetches(device: Device): void {
        const link = device.link;
        if (!link || this.toldFetches.has(link))
            return;
        this.toldFetches.add(link);
        link.send(fetchesPacket(FETCHES_PER_DEVICE)).catch(() => undefined);
    }

    /**
     * The batch a file belongs to. The protocol has no batch id: a file whose totals differ from
     * the running batch's starts a new batch, and the running one ends as what it is, incomplete.
     */
    private batchFor(device: Device, r: Extract<ShareRequest, {kind: 'file'}>): IncomingBatch {
        let batch = this.incoming.get(device.id);
        if (batch && batch.transfer.info.state === 'active') {
            const info = batch.transfer.info;
            const same = (r.numberOfFiles ?? 1) === info.numberOfFiles &&
                (r.totalPayloadSize === undefined || r.totalPayloadSize === info.totalBytes);
            if (!same)
                this.endIncomplete(batch, `${device.name} began another batch`);
        }
        // a batch whose files are all in (the last one may still be being placed) takes no more
        if (!batch || batch.transfer.info.state !== 'active' || batch.claimed >= batch.transfer.info.numberOfFiles) {
            const transfer = new Transfer(this, device, 'in', r.numberOfFiles ?? 1,
                r.totalPayloadSize ?? Math.max(r.size, 0));
            this.transfers.set(transfer.info.id, transfer);
            batch = {transfer, doneBytes: 0, idle: 0, claimed: 0, fetched: 0, inFlight: 0, placing: Promise.resolve()};
            this.incoming.set(device.id, batch);
        }
        this.stopIdle(batch);
        return batch;
    }

    private stopIdle(batch: IncomingBatch): void {
        if (batch.idle)
            GLib.source_remove(batch.idle);
        batch.idle = 0;
    }

    private endIncomplete(batch: IncomingBatch, why: string): void {
        this.stopIdle(batch);
        const info = batch.transfer.info;
        const reason = `${why} after ${info.files.length} of ${info.numberOfFiles} files`;
        this.emit('log', `receiving from ${info.deviceName} failed: ${reason}`);
        batch.transfer.end('failed', reason);
    }

    private async receiveFile(device: Device, address: Gio.InetAddress, r: Extract<ShareRequest, {kind: 'file'}>): Promise<void> {
        trace('rx.start', r.filename);
        const batch = this.batchFor(device, r);
        batch.claimed++;
        const t = batch.transfer;
        const name = sanitizeFileName(r.filename);
        t.info.current = name;
        t.info.fileIndex = batch.claimed - 1;
        t.update(t.info.fileIndex === 0);
        const identity = this.engine.identity;
        const pem = device.trusted?.certificatePem;
        const peerCertificate = pem ? peerCertificateFromPem(pem) : null;
        if (!identity || !peerCertificate) {
            t.end('failed', `${device.name} is not paired`);
            return;
        }
        const dir = this.receiveDirectory(device);
        // the partial file is made while the payload connection is set up, neither waiting for the
        // other; it is begun once the connection is asked for: the worker thread that makes it held
        // up the connection's SYN by about 0.2 ms of every small file (docs/benchmarks.md)
        const made: {partial: PartialFile | null; creating: Promise<PartialFile> | null} = {partial: null, creating: null};
        const create = () => (made.creating ??= PartialFile.create(dir).then(p => {
            made.partial = p;
            trace('rx.partial', r.filename);
            return p;
        }));
        let fetching = false;
        let partial: PartialFile;
        let received = 0;
        batch.inFlight++;
        try {
            if (r.port !== 0) {
                fetching = true;
                received = await this.slots.run(() => receivePayload({
                    address, port: r.port, size: r.size, out: () => create().then(p => p.stream), cancellable: t.cancellable,
                    traceKey: r.filename, certificate: identity.certificate, peerCertificate,
                    onProgress: bytes => {
                        t.info.bytes = batch.doneBytes + bytes;
                        t.update();
                    },
                }));
            }
            partial = await create();
        } catch (e) {
            batch.inFlight--;
            const cancelled = isCancelled(e) && t.cancellable.is_cancelled();
            const reason = cancelled ? 'cancelled' : `${name}: ${errorMessage(e)}`;
            this.emit('log', `receiving from ${device.name} failed: ${reason}`);
            // nowhere to write it (a read-only or vanished folder): tell the sender now, the way
            // peers expect, rather than let it wait for a fetch that never comes (once fetching, the
            // payload connection closing unread says the same)
            if (!fetching && r.port !== 0)
                refusePayload(address, r.port).catch(() => undefined);
            t.end(cancelled ? 'cancelled' : 'failed', reason);
            await made.creating?.catch(() => null);
            await this.discard(made.partial);
            return;
        }
        // every byte is in: the next file is fetched while this one is named and dated
        batch.inFlight--;
        batch.fetched++;
        batch.doneBytes += received;
        t.info.bytes = batch.doneBytes;
        batch.placing = batch.placing.then(() => this.placeFile(device, batch, partial, name, r, received));
    }

    /** Puts a whole file under its final name and counts it; the batch ends with its last file. */
    private async placeFile(device: Device, batch: IncomingBatch, partial: PartialFile, name: string,
        r: Extract<ShareRequest, {kind: 'file'}>, written: number): Promise<void> {
        const t = batch.transfer;
        try {
            const finalPath = await partial.finish(name, r.lastModified, r.filename);
            trace('rx.done', r.filename);
            t.info.files.push(finalPath);
            t.info.delivered = t.info.files.length;
            this.emit('log', `received ${finalPath} (${written} bytes) from ${device.name}`);
            if (t.info.files.length >= t.info.numberOfFiles) {
                t.end('done');
            } else if (t.info.state === 'active') {
                t.update();
            }
            // a sender quiet after the batch's last placed file (none in flight, none waiting to be placed)
            if (t.info.state === 'active' && batch.inFlight === 0 && batch.fetched === t.info.files.length) {
                this.stopIdle(batch);
                batch.idle = GLib.timeout_add(GLib.PRIORITY_DEFAULT, BATCH_IDLE_MS, () => {
                    batch.idle = 0;
                    this.endIncomplete(batch, `${device.name} announced nothing more`);
                    return GLib.SOURCE_REMOVE;
                });
            }
        } catch (e) {
            const reason = `${name}: ${errorMessage(e)}`;
            this.emit('log', `receiving from ${device.name} failed: ${reason}`);
            t.end('failed', reason);
            await this.discard(partial);
        }
    }

    private async discard(partial: PartialFile | null): Promise<void> {
        await partial?.discard().catch(e => this.emit('log', `could not remove ${partial.path}: ${errorMessage(e)}`));
    }

    private deviceForSending(query: string): Device {
        const device = this.engine.findDevice(query);
        if (!device.paired)
            throw new EngineError(`${device.name} is not paired`);
        if (!device.reachable || !device.link)
            throw new EngineError(`${device.name} is not reachable`);
        const caps = device.incomingCapabilities;
        if (caps.length > 0 && !caps.includes(PACKET_SHARE_REQUEST))
            throw new EngineError(`${device.name} does not accept shares`);
        return device;
    }

    async sendText(query: string, text: string): Promise<void> {
        const device = this.deviceForSending(query);
        await device.link!.send(makePacket(PACKET_SHARE_REQUEST, {text}));
    }

    async sendUrl(query: string, url: string): Promise<void> {
        const device = this.deviceForSending(query);
        await device.link!.send(makePacket(PACKET_SHARE_REQUEST, {url}));
    }

    /**
     * Sends files (paths or file:// URIs) as one batch. Returns the transfer at once; its end
     * is reported through 'transfer' events. Throws for files that cannot be sent.
     */
    async sendFiles(query: string, paths: string[]): Promise<TransferInfo> {
        const device = this.deviceForSending(query);
        if (paths.length === 0)
            throw new EngineError('no files to send');
        const files: OutgoingFile[] = [];
        for (const p of paths) {
            const file = p.startsWith('file://') ? Gio.File.new_for_uri(p) : Gio.File.new_for_path(p);
            const path = file.get_path();
            if (!path || (!p.startsWith('file://') && /^[a-z][a-z0-9+.-]*:\/\//i.test(p)))
                throw new EngineError(`${p}: only local files can be sent`);
            let info: Gio.FileInfo;
            try {
                info = await file.query_info_async('standard::type,standard::size,time::modified,time::modified-usec',
                    Gio.FileQueryInfoFlags.NONE, GLib.PRIORITY_DEFAULT, null);
            } catch (e) {
                throw new EngineError(`${path}: ${errorMessage(e)}`);
            }
            if (info.get_file_type() !== Gio.FileType.REGULAR)
                throw new EngineError(`${path} is not a regular file`);
            const mtime = info.get_attribute_uint64('time::modified') * 1000 +
                Math.floor(info.get_attribute_uint32('time::modified-usec') / 1000);
            files.push({file, path, size: info.get_size(), mtime, name: file.get_basename() ?? 'file'});
        }
        const total = files.reduce((n, f) => n + f.size, 0);
        const t = new Transfer(this, device, 'out', files.length, total);
        this.transfers.set(t.info.id, t);
        t.info.files = files.map(f => f.path);
        t.info.current = files[0].name;
        t.update(true);
        this.sender.sendBatch(device, t, files).catch(e => t.end('failed', errorMessage(e)));
        return {...t.info};
    }
}
