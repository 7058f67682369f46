// The TCP listener for incoming links, on the first free port in 1716–1764.
import Gio from 'gi://Gio';
import {TCP_PORT_MAX, TCP_PORT_MIN} from '../protocol/limits.js';

export class LinkListener {
    private service: Gio.SocketService | null = null;
    port = 0;

    start(onConnection: (conn: Gio.SocketConnection) => void): number {
        const service = new Gio.SocketService();
        let lastError: unknown = null;
        for (let port = TCP_PORT_MIN; port <= TCP_PORT_MAX; port++) {
            try {
                service.add_inet_port(port, null);
                this.port = port;
                break;
            } catch (e) {
                lastError = e;
            }
        }
        if (!this.port)
            throw new Error(`no free TCP port in ${TCP_PORT_MIN}–${TCP_PORT_MAX}: ${String(lastError)}`);
        service.connect('incoming', (_s: Gio.SocketService, conn: Gio.SocketConnection) => {
            onConnection(conn);
            return true;
        });
        service.start();
        this.service = service;
        return this.port;
    }

    stop(): void {
        this.service?.stop();
        this.service?.close();
        this.service = null;
        this.port = 0;
    }
}
