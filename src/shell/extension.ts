// Ferry in GNOME Shell: enable() builds the session (engine, D-Bus API, indicator,
// notifications); disable() tears every part of it down. Nothing exists before enable().
import {Extension} from 'resource:///org/gnome/shell/extensions/extension.js';
import {FerrySession} from './session.js';

export default class FerryExtension extends Extension {
    private session: FerrySession | null = null;

    override enable(): void {
        this.session = new FerrySession(this);
    }

    override disable(): void {
        this.session?.destroy();
        this.session = null;
    }
}
