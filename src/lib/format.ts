/**
 * printf-style substitution for translated strings: %s and %d take the next argument, %% is a
 * percent sign. (String.prototype.format exists only where the shell installed it.)
 */
export function fmt(template: string, ...args: (string | number | null)[]): string {
    let i = 0;
    return template.replace(/%([sd%])/g, (_m, kind: string) => {
        if (kind === '%')
            return '%';
        const value = args[i++];
        return kind === 'd' ? String(Math.trunc(Number(value))) : String(value ?? '');
    });
}
