// One MessageTray source, "Ferry", over the two notification APIs of the shells we support:
// GNOME 45 builds sources and notifications from positional arguments and shows them with
// `showNotification`; GNOME 46 and later take property objects and `addNotification`.
import * as Config from 'resource:///org/gnome/shell/misc/config.js';
import * as Main from 'resource:///org/gnome/shell/ui/main.js';
import * as MessageTray from 'resource:///org/gnome/shell/ui/messageTray.js';

const SHELL_MAJOR = Number(Config.PACKAGE_VERSION.split('.')[0]);

export const Urgency = MessageTray.Urgency;

export interface NoteParams {
    title: string;
    body: string;
    urgency?: MessageTray.Urgency;
    /** Gone from the tray once seen (progress and confirmations); else it stays until dismissed. */
    transient?: boolean;
    /** Stays after its actions run (a progress notification with Cancel). */
    resident?: boolean;
}

// Each shell's types know only their own API: both are reached through these interfaces, so
// that the code type-checks against the GNOME 45 types and against 46, 47 and 48's (npm run
// typecheck) while everything else in it is checked against each.
/** The GNOME 46+ constructors. */
interface Modern {
    Source: new (params: {title: string; iconName: string}) => MessageTray.Source;
    Notification: new (params: {source: MessageTray.Source; title: string; body: string; urgency: number;
        isTransient: boolean; resident: boolean}) => MessageTray.Notification;
}
interface ModernSource {
    addNotification(n: MessageTray.Notification): void;
}
interface ModernNotification {
    title: string;
    body: string;
}
/** GNOME 45's. */
interface Legacy {
    Source: new (title: string, iconName: string) => MessageTray.Source;
    Notification: new (source: MessageTray.Source, title: string, body: string) => LegacyNotification;
}
interface LegacyNotification extends MessageTray.Notification {
    update(title: string, body: string): void;
    setUrgency(urgency: number): void;
    setTransient(transient: boolean): void;
    setResident(resident: boolean): void;
}
interface LegacySource {
    showNotification(n: MessageTray.Notification): void;
}

export class Note {
    private destroyed = false;

    constructor(readonly notification: MessageTray.Notification) {
        notification.connect('destroy', () => {
            this.destroyed = true;
        });
    }

    get alive(): boolean {
        return !this.destroyed;
    }

    update(title: string, body: string): void {
        if (this.destroyed)
            return;
        if (SHELL_MAJOR >= 46) {
            const n = this.notification as unknown as ModernNotification;
            if (n.title !== title)
                n.title = title;
            if (n.body !== body)
                n.body = body;
        } else {
            (this.notification as LegacyNotification).update(title, body);
        }
    }

    addAction(label: string, callback: () => void): void {
        this.notification.addAction(label, callback);
    }

    onActivated(callback: () => void): void {
        this.notification.connect('activated', callback);
    }

    destroy(): void {
        if (!this.destroyed)
            this.notification.destroy();
        this.destroyed = true;
    }
}

export class Notifications {
    private source: MessageTray.Source | null = null;
    private sourceDestroyId = 0;

    constructor(private readonly title: string, private readonly iconName: string) {}

    /** The source exists only while it has notifications: the shell removes empty ones. */
    private ensureSource(): MessageTray.Source {
        if (this.source)
            return this.source;
        const source = SHELL_MAJOR >= 46
            ? new (MessageTray as unknown as Modern).Source({title: this.title, iconName: this.iconName})
            : new (MessageTray as unknown as Legacy).Source(this.title, this.iconName);
        this.sourceDestroyId = source.connect('destroy', () => {
            this.source = null;
            this.sourceDestroyId = 0;
        });
        Main.messageTray.add(source);
        this.source = source;
        return source;
    }

    show(p: NoteParams, actions: [string, () => void][] = []): Note {
        const source = this.ensureSource();
        const urgency = p.urgency ?? MessageTray.Urgency.NORMAL;
        let notification: MessageTray.Notification;
        if (SHELL_MAJOR >= 46) {
            notification = new (MessageTray as unknown as Modern).Notification({source, title: p.title, body: p.body,
                urgency, isTransient: p.transient ?? false, resident: p.resident ?? false});
        } else {
            const legacy = new (MessageTray as unknown as Legacy).Notification(source, p.title, p.body);
            legacy.setUrgency(urgency);
            legacy.setTransient(p.transient ?? false);
            legacy.setResident(p.resident ?? false);
            notification = legacy;
        }
        const note = new Note(notification);
        for (const [label, callback] of actions)
            note.addAction(label, callback);
        if (SHELL_MAJOR >= 46)
            (source as unknown as ModernSource).addNotification(notification);
        else
            (source as unknown as LegacySource).showNotification(notification);
        return note;
    }

    destroy(): void {
        if (this.source && this.sourceDestroyId)
            this.source.disconnect(this.sourceDestroyId);
        this.source?.destroy(MessageTray.NotificationDestroyedReason.SOURCE_CLOSED);
        this.source = null;
        this.sourceDestroyId = 0;
    }
}
