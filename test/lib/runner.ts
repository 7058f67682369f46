// Boots jasmine-core under gjs: installs Jasmine's globals, reports each spec on stdout and
// ends with the summary line `N passed, N failed` that CI reads.
import GLib from 'gi://GLib';
import System from 'system';
// @ts-expect-error jasmine-core ships no types for its inner module
import jasmineRequire from 'jasmine-core/lib/jasmine-core/jasmine.js';

interface SpecResult {
    fullName: string;
    status: string;
    failedExpectations: {message: string; stack?: string}[];
    pendingReason?: string;
    duration?: number | null;
}

// jasmine-core is untyped here; its boot API is small and stable.
/* eslint-disable @typescript-eslint/no-explicit-any */
const jr = jasmineRequire as any;
const jasmineCore = jr.core(jr);
const env = jasmineCore.getEnv();
const iface = jr.interface(jasmineCore, env);
Object.assign(globalThis as any, iface);
/* eslint-enable @typescript-eslint/no-explicit-any */

const endHooks: (() => void)[] = [];

/** Runs `fn` once the whole suite has finished, before the process exits. */
export function atSuiteEnd(fn: () => void): void {
    endHooks.push(fn);
}

export function runSpecs(suite: string): void {
    const filter = GLib.getenv('FERRY_TEST_FILTER');
    let passed = 0, failed = 0, skipped = 0;
    const started = GLib.get_monotonic_time();
    env.configure({
        random: false,
        stopOnSpecFailure: false,
        // a part of the full name, or re:<regular expression>
        specFilter: (spec: {getFullName(): string}) => !filter ||
            (filter.startsWith('re:') ? new RegExp(filter.slice(3)).test(spec.getFullName()) : spec.getFullName().includes(filter)),
    });
    env.addReporter({
        specDone(r: SpecResult) {
            const ms = r.duration ? ` (${r.duration} ms)` : '';
            if (r.status === 'passed') {
                passed++;
                print(`ok - ${r.fullName}${ms}`);
            } else if (r.status === 'failed') {
                failed++;
                print(`not ok - ${r.fullName}${ms}`);
                for (const e of r.failedExpectations)
                    print(`    ${e.message}\n${(e.stack ?? '').split('\n').slice(0, 6).map(l => `      ${l}`).join('\n')}`);
            } else if (r.status !== 'excluded') {
                skipped++;
                print(`skip - ${r.fullName}${r.pendingReason ? `: ${r.pendingReason}` : ''}`);
            }
        },
        suiteDone(r: SpecResult) {
            for (const e of r.failedExpectations) {
                failed++;
                print(`not ok - ${r.fullName} (suite-level): ${e.message}`);
            }
        },
    });
    const loop = new GLib.MainLoop(null, false);
    let code = 1;
    env.addReporter({jasmineDone: () => {
        const secs = ((GLib.get_monotonic_time() - started) / 1e6).toFixed(1);
        print(`# ${suite}: ${secs} s`);
        print(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
        code = failed === 0 && passed > 0 ? 0 : 1;
        for (const hook of endHooks.splice(0))
            hook();
        loop.quit();
    }});
    env.execute();
    loop.run();
    System.exit(code);
}
