// Pairing and trust: what each step of a device's pairing state machine (src/protocol/pairing.ts)
// means for the engine, the verification key, and the pairings kept in Ferry's trust store.
import GLib from 'gi://GLib';
import {errorMessage} from '../net/gio.js';
import {certificateDer} from '../net/tls.js';
import {subjectPublicKeyInfo} from '../protocol/der.js';
import {PAIR_TIMEOUT_MS, PACKET_PAIR} from '../protocol/limits.js';
import {makePacket} from '../protocol/packet.js';
import {PairStep} from '../protocol/pairing.js';
import {verificationKey} from '../protocol/verification.js';
import {Device} from './device.js';
import type {Engine} from './engine.js';
import {TrustedDevice} from './identity/types.js';

export class Pairing {
    constructor(private readonly engine: Engine) {}

    private computeKey(device: Device): string {
        const link = device.link;
        if (!link || !this.engine.identity)
            return '';
        const peer = subjectPublicKeyInfo(certificateDer(link.peerCertificate));
        return verificationKey(this.engine.identity.publicKey, peer, device.pairing.usesTimestamp ? device.pairing.timestamp : undefined);
    }

    /** Sends what a step of the pairing state machine says to send, and acts on its outcome. */
    apply(device: Device, step: PairStep): void {
        if (step.send)
            device.link?.send(makePacket(PACKET_PAIR, step.send)).catch(() => undefined);
        if (!step.event) {
            if (step.reason) // an ignored pair packet: a peer can send any number of them
                this.engine.peerLog(device, 'pair', `${device.name}: ${step.reason}`);
            return;
        }
        switch (step.event) {
        case 'requested':
        case 'requestedByPeer':
            device.verificationKey = this.computeKey(device);
            device.clearPairTimer();
            device.pairTimer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, PAIR_TIMEOUT_MS, () => {
                device.pairTimer = null;
                this.apply(device, device.pairing.timeout());
                return GLib.SOURCE_REMOVE;
            });
            this.engine.emit('log', `${step.event === 'requested' ? 'pairing requested with' : 'pairing request from'} ` +
                `${device.name} (${device.id}), verification key ${device.verificationKey}`);
            if (step.event === 'requestedByPeer')
                this.engine.emit('pairingRequested', device.info(), device.verificationKey);
            break;
        case 'paired':
            device.clearPairTimer();
            this.trustDevice(device);
            break;
        case 'unpaired':
            device.clearPairTimer();
            this.forgetDevice(device);
            break;
        default:
            device.clearPairTimer();
            this.engine.emit('log', `pairing with ${device.name} (${device.id}) ${step.event}${step.reason ? `: ${step.reason}` : ''}`);
            this.engine.emit('pairingFinished', device.id, step.event, step.reason ?? '');
        }
        this.engine.emit('deviceChanged', device.info());
    }

    private trustDevice(device: Device): void {
        const link = device.link;
        if (!link || !this.engine.trustStore)
            return;
        const trusted: TrustedDevice = {id: device.id, name: device.name, type: device.type,
            certificatePem: link.peerCertificate.certificate_pem ?? '', protocolVersion: link.protocolVersion, source: 'ferry'};
        device.trusted = trusted;
        this.engine.trustChanged(device);
        this.engine.trustStore.trust(trusted).catch(e => this.engine.emit('log', `could not save the pairing: ${errorMessage(e)}`));
        this.engine.emit('log', `paired with ${device.name} (${device.id})`);
        this.engine.emit('pairingFinished', device.id, 'paired', '');
    }

    private forgetDevice(device: Device): void {
        const was = device.trusted;
        device.trusted = null;
        this.engine.trustChanged(device);
        if (was && this.engine.trustStore) {
            const revoke = was.source === 'gsconnect' ? was.certificatePem : undefined;
            if (revoke)
                this.engine.revoked.set(device.id, revoke);
            this.engine.trustStore.untrust(device.id, revoke)
                .catch(e => this.engine.emit('log', `could not save the unpairing: ${errorMessage(e)}`));
        }
        this.engine.emit('log', `unpaired ${device.name} (${device.id})`);
        this.engine.emit('pairingFinished', device.id, 'unpaired', '');
        if (!device.reachable) {
            this.engine.devices.delete(device.id);
            this.engine.emit('deviceRemoved', device.id);
        }
    }
}
