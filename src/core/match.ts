// Finding a device by what a user typed: its id, or its name when that is unique.

export class NoSuchDeviceError extends Error {
    override name = 'NoSuchDeviceError';
}

export function matchDevice<T extends {id: string; name: string}>(devices: Iterable<T>, query: string): T {
    const list = [...devices];
    const byId = list.find(d => d.id === query);
    if (byId)
        return byId;
    const byName = list.filter(d => d.name === query);
    const candidates = byName.length ? byName : list.filter(d => d.name.toLowerCase() === query.toLowerCase());
    if (candidates.length === 1)
        return candidates[0];
    if (candidates.length > 1)
        throw new NoSuchDeviceError(`several devices are called "${query}": use the device id`);
    throw new NoSuchDeviceError(`no device "${query}" is known`);
}
