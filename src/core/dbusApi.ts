// The engine's D-Bus API (org.gnome.Shell.Extensions.Ferry): exported by `ferry serve` and, with
// exactly the same interface, by the shell extension.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import {DeviceInfo} from './device.js';
import {Engine} from './engine.js';
import {ShareService, TransferInfo} from './share.js';

export const BUS_NAME = 'org.gnome.Shell.Extensions.Ferry';
export const OBJECT_PATH = '/org/gnome/Shell/Extensions/Ferry';
export const INTERFACE_NAME = 'org.gnome.Shell.Extensions.Ferry';

export const INTERFACE_XML = `<node>
  <interface name="${INTERFACE_NAME}">
    <method name="GetIdentity"><arg type="a{sv}" name="identity" direction="out"/></method>
    <method name="ListDevices"><arg type="aa{sv}" name="devices" direction="out"/></method>
    <method name="Pair">
      <arg type="s" name="device" direction="in"/>
      <arg type="s" name="state" direction="out"/>
      <arg type="s" name="verificationKey" direction="out"/>
    </method>
    <method name="AcceptPair"><arg type="s" name="device" direction="in"/></method>
    <method name="RejectPair"><arg type="s" name="device" direction="in"/></method>
    <method name="Unpair"><arg type="s" name="device" direction="in"/></method>
    <method name="Refresh"/>
    <method name="SendFiles">
      <arg type="s" name="device" direction="in"/>
      <arg type="as" name="files" direction="in"/>
      <arg type="s" name="transferId" direction="out"/>
    </method>
    <method name="SendText"><arg type="s" name="device" direction="in"/><arg type="s" name="text" direction="in"/></method>
    <method name="SendUrl"><arg type="s" name="device" direction="in"/><arg type="s" name="url" direction="in"/></method>
    <method name="CancelTransfer"><arg type="s" name="transferId" direction="in"/><arg type="b" name="found" direction="out"/></method>
    <method name="ListTransfers"><arg type="aa{sv}" name="transfers" direction="out"/></method>
    <signal name="TransferChanged"><arg type="a{sv}" name="transfer"/></signal>
    <signal name="TextReceived"><arg type="s" name="deviceId"/><arg type="s" name="deviceName"/><arg type="s" name="text"/></signal>
    <signal name="UrlReceived"><arg type="s" name="deviceId"/><arg type="s" name="deviceName"/><arg type="s" name="url"/></signal>
    <signal name="DeviceChanged"><arg type="a{sv}" name="device"/></signal>
    <signal name="DeviceRemoved"><arg type="s" name="id"/></signal>
    <signal name="PairingRequested"><arg type="a{sv}" name="device"/><arg type="s" name="verificationKey"/></signal>
    <signal name="PairingFinished"><arg type="s" name="id"/><arg type="s" name="result"/><arg type="s" name="reason"/></signal>
    <signal name="StateChanged"><arg type="s" name="state"/><arg type="s" name="message"/></signal>
    <property name="State" type="s" access="read"/>
    <property name="StateMessage" type="s" access="read"/>
  </interface>
</node>`;

function toVariantDict(obj: Record<string, string | number | boolean | string[]>): Record<string, GLib.Variant> {
    const out: Record<string, GLib.Variant> = {};
    for (const [k, v] of Object.entries(obj)) {
        if (typeof v === 'string')
            out[k] = new GLib.Variant('s', v);
        else if (typeof v === 'boolean')
            out[k] = new GLib.Variant('b', v);
        else if (typeof v === 'number')
            out[k] = new GLib.Variant('x', v);
        else
            out[k] = new GLib.Variant('as', v);
    }
    return out;
}

export function deviceVariant(info: DeviceInfo): Record<string, GLib.Variant> {
    return toVariantDict({...info});
}

export function transferVariant(info: TransferInfo): Record<string, GLib.Variant> {
    return toVariantDict({...info});
}

export function identityInfo(engine: Engine): Record<string, string | number | boolean> {
    return {
        id: engine.identity?.deviceId ?? '',
        name: engine.deviceName,
        type: engine.options.deviceType ?? 'desktop',
        identitySource: engine.identity?.source ?? '',
        protocolVersion: engine.ownIdentity().protocolVersion,
        tcpPort: engine.tcpPort,
        state: engine.state,
        stateMessage: engine.stateMessage,
        gsconnectDevicesFrom: engine.gsconnectDevicesFrom ?? '',
    };
}

/** Exports the API for `engine` on `connection`; returns the function that unexports it. */
export function exportApi(engine: Engine, share: ShareService, connection: Gio.DBusConnection): () => void {
    // gjs runs async implementations when the method name ends in Async and hands them the invocation
    const reply = (invocation: Gio.DBusMethodInvocation, work: Promise<GLib.Variant | null>) => {
        work.then(v => invocation.return_value(v), e => invocation.return_error_literal(Gio.dbus_error_quark(),
            Gio.DBusError.FAILED, e instanceof Error ? e.message : String(e)));
    };
    const impl = {
        SendFilesAsync: ([device, files]: [string, string[]], invocation: Gio.DBusMethodInvocation) =>
            reply(invocation, share.sendFiles(device, files).then(t => new GLib.Variant('(s)', [t.id]))),
        SendTextAsync: ([device, text]: [string, string], invocation: Gio.DBusMethodInvocation) =>
            reply(invocation, share.sendText(device, text).then(() => null)),
        SendUrlAsync: ([device, url]: [string, string], invocation: Gio.DBusMethodInvocation) =>
            reply(invocation, share.sendUrl(device, url).then(() => null)),
        CancelTransfer: (id: string) => share.cancel(id),
        ListTransfers: () => share.list().map(transferVariant),
        // a command may ask while the engine still loads its identity (a first login starts
        // everything at once): answer once it has, or with the reason it could not
        GetIdentityAsync: (_args: [], invocation: Gio.DBusMethodInvocation) =>
            reply(invocation, engine.prepare().then(() => new GLib.Variant('(a{sv})', [toVariantDict(identityInfo(engine))]))),
        ListDevicesAsync: (_args: [], invocation: Gio.DBusMethodInvocation) =>
            reply(invocation, engine.prepare().then(() => new GLib.Variant('(aa{sv})', [engine.deviceInfos().map(deviceVariant)]))),
        Pair: (device: string) => {
            const r = engine.pair(device);
            return [r.state, r.verificationKey];
        },
        AcceptPair: (device: string) => {
            if (engine.findDevice(device).pairing.state !== 'requestedByPeer')
                throw new Error(`${device} has no pending pairing request`);
            engine.pair(device);
        },
        RejectPair: (device: string) => engine.rejectPair(device),
        Unpair: (device: string) => engine.unpair(device),
        Refresh: () => engine.refresh(),
        get State() {
            return engine.state;
        },
        get StateMessage() {
            return engine.stateMessage;
        },
    };
    const exported = Gio.DBusExportedObject.wrapJSObject(INTERFACE_XML, impl);
    exported.export(connection, OBJECT_PATH);
    const handlers = [
        engine.on('deviceChanged', info => exported.emit_signal('DeviceChanged',
            new GLib.Variant('(a{sv})', [deviceVariant(info)]))),
        engine.on('deviceRemoved', id => exported.emit_signal('DeviceRemoved', new GLib.Variant('(s)', [id]))),
        engine.on('pairingRequested', (info, key) => exported.emit_signal('PairingRequested',
            new GLib.Variant('(a{sv}s)', [deviceVariant(info), key]))),
        engine.on('pairingFinished', (id, result, reason) => exported.emit_signal('PairingFinished',
            new GLib.Variant('(sss)', [id, result, reason]))),
        share.on('transfer', info => exported.emit_signal('TransferChanged', new GLib.Variant('(a{sv})', [transferVariant(info)]))),
        share.on('text', (device, text) => exported.emit_signal('TextReceived', new GLib.Variant('(sss)', [device.id, device.name, text]))),
        share.on('url', (device, url) => exported.emit_signal('UrlReceived', new GLib.Variant('(sss)', [device.id, device.name, url]))),
        engine.on('state', (state, message) => {
            exported.emit_signal('StateChanged', new GLib.Variant('(ss)', [state, message]));
            exported.emit_property_changed('State', new GLib.Variant('s', state));
            exported.emit_property_changed('StateMessage', new GLib.Variant('s', message));
        }),
    ];
    return () => {
        handlers.forEach(off => off());
        exported.unexport();
    };
}
