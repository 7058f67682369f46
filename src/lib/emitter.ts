// A minimal typed event emitter for the engine's plain objects (GObject signals would tie the
// pure and core layers to GObject).

type Handler<A extends unknown[]> = (...args: A) => void;

export class Emitter<Events extends Record<string, unknown[]>> {
    private handlers = new Map<keyof Events, Set<Handler<never[]>>>();

    on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): () => void {
        let set = this.handlers.get(event);
        if (!set) {
            set = new Set();
            this.handlers.set(event, set);
        }
        set.add(handler as unknown as Handler<never[]>);
        return () => set.delete(handler as unknown as Handler<never[]>);
    }

    emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
        for (const h of [...this.handlers.get(event) ?? []]) {
            try {
                (h as unknown as Handler<Events[K]>)(...args);
            } catch (e) {
                console.error(`handler for ${String(event)} failed: ${(e as Error).stack ?? e}`);
            }
        }
    }

    disconnectAll(): void {
        this.handlers.clear();
    }
}
