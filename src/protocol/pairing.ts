// The pairing state machine of one device (kdeconnect.pair), free of timers and sockets: the
// caller feeds it local actions, received bodies and time-outs, and carries out what it returns.
import {PAIR_MAX_CLOCK_SKEW_S} from './limits.js';
import {parseBoolean, parseInteger} from './numbers.js';
import {Body} from './packet.js';

export type PairState = 'unpaired' | 'requested' | 'requestedByPeer' | 'paired';

export type PairEvent =
    | 'requested' // we asked the peer
    | 'requestedByPeer' // the peer asks us
    | 'paired'
    | 'rejected' // the peer said no to our request
    | 'cancelled' // the peer withdrew its request
    | 'unpaired'
    | 'timeout'
    | 'refused'; // we refused the peer's request (e.g. clock skew)

export interface PairStep {
    /** Body of a kdeconnect.pair packet to send, if any. */
    send?: Body;
    event?: PairEvent;
    reason?: string;
}

export class PairingState {
    state: PairState;
    /** Timestamp of the pending or completed request (protocol 8), for the verification key. */
    timestamp: number | undefined;

    constructor(paired: boolean, private readonly protocolVersion: number) {
        this.state = paired ? 'paired' : 'unpaired';
    }

    get usesTimestamp(): boolean {
        return this.protocolVersion >= 8;
    }

    /** The user asks to pair (or accepts a pending request from the peer). */
    request(nowSeconds: number): PairStep {
        if (this.state === 'requestedByPeer')
            return this.accept();
        if (this.state === 'paired')
            return {};
        this.state = 'requested';
        if (!this.usesTimestamp) {
            this.timestamp = undefined;
            return {send: {pair: true}, event: 'requested'};
        }
        this.timestamp = Math.floor(nowSeconds);
        return {send: {pair: true, timestamp: this.timestamp}, event: 'requested'};
    }

    accept(): PairStep {
        if (this.state !== 'requestedByPeer')
            return {};
        this.state = 'paired';
        return {send: {pair: true}, event: 'paired'};
    }

    reject(): PairStep {
        if (this.state !== 'requestedByPeer')
            return {};
        this.state = 'unpaired';
        return {send: {pair: false}, event: 'refused', reason: 'rejected by the user'};
    }

    unpair(): PairStep {
        const was = this.state;
        this.state = 'unpaired';
        if (was === 'requested')
            return {send: {pair: false}, event: 'cancelled'};
        if (was === 'requestedByPeer')
            return {send: {pair: false}, event: 'refused', reason: 'rejected by the user'};
        return {send: {pair: false}, event: 'unpaired'};
    }

    /** The pending request (ours or the peer's) ran out of time. */
    timeout(): PairStep {
        if (this.state !== 'requested' && this.state !== 'requestedByPeer')
            return {};
        this.state = 'unpaired';
        return {send: {pair: false}, event: 'timeout', reason: 'the pairing request timed out'};
    }

    /** A kdeconnect.pair body arrived from the peer. */
    receive(body: Body, nowSeconds: number): PairStep {
        const wantsPair = parseBoolean(body.pair);
        if (wantsPair === undefined)
            return {reason: 'pair packet without a boolean "pair"'};
        if (!wantsPair) {
            const was = this.state;
            this.state = 'unpaired';
            switch (was) {
            case 'requested': return {event: 'rejected', reason: 'the device rejected the request'};
            case 'requestedByPeer': return {event: 'cancelled'};
            case 'paired': return {event: 'unpaired'};
            default: return {};
            }
        }
        if (this.state === 'requested') {
            this.state = 'paired';
            return {event: 'paired'};
        }
        if (this.state === 'requestedByPeer')
            return {};
        // From unpaired, or from paired: a paired peer that asks again has forgotten us, so the
        // old trust ends and this is a new request.
        if (this.usesTimestamp) {
            const ts = parseInteger(body.timestamp);
            if (ts === undefined) {
                // protocol 8 treats a request without a timestamp as an unpair
                const was = this.state;
                this.state = 'unpaired';
                return was === 'paired' ? {event: 'unpaired'} : {reason: 'pair request without a timestamp'};
            }
            if (Math.abs(ts - nowSeconds) > PAIR_MAX_CLOCK_SKEW_S) {
                this.state = 'unpaired';
                return {send: {pair: false}, event: 'refused',
                    reason: `clocks out of sync by ${Math.round(Math.abs(ts - nowSeconds))} s`};
            }
            this.timestamp = ts;
        } else {
            this.timestamp = undefined;
        }
        this.state = 'requestedByPeer';
        return {event: 'requestedByPeer'};
    }
}
