// Bundles the TypeScript sources into readable, unminified ESM for GJS.
import {build} from 'esbuild';
import {readdirSync, mkdirSync, writeFileSync, chmodSync, cpSync} from 'node:fs';
import {join} from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const common = {
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'firefox102', // gjs 1.74 runs SpiderMonkey 102
    minify: false,
    treeShaking: false,
    legalComments: 'inline',
    external: ['gi://*', 'resource://*', 'gettext', 'system', 'cairo'],
    logLevel: 'warning',
};

const specs = dir => readdirSync(join(root, 'test', dir))
    .filter(f => f.endsWith('.spec.ts'))
    .map(f => join(root, 'test', dir, f));

await build({...common, entryPoints: {'cli/main': join(root, 'src/cli/main.ts')}, outdir: join(root, 'build')});
// The extension: extension.js (shell), prefs.js (preferences process), chooser.js (GTK program).
await build({...common, entryPoints: {
    extension: join(root, 'src/shell/extension.ts'),
    prefs: join(root, 'src/prefs/prefs.ts'),
    chooser: join(root, 'src/chooser/chooser.ts'),
}, outdir: join(root, 'build/extension')});
cpSync(join(root, 'metadata.json'), join(root, 'build/extension/metadata.json'));
cpSync(join(root, 'schemas'), join(root, 'build/extension/schemas'), {recursive: true});
cpSync(join(root, 'data/icons'), join(root, 'build/extension/icons'), {recursive: true});
await build({...common, entryPoints: {'test/peer': join(root, 'test/tools/peer.ts')}, outdir: join(root, 'build')});
await build({...common, entryPoints: {'bench/node': join(root, 'bench/node.ts'), 'bench/handshakes': join(root, 'bench/handshakes.ts'), 'bench/ideal_gio': join(root, 'bench/ideal_gio.ts')},
    outdir: join(root, 'build')});

// One bundle per suite: jasmine-core (CommonJS, expects a `global`), the runner that installs
// Jasmine's globals, then every spec file of the suite, which registers its specs as it loads.
mkdirSync(join(root, 'build', 'test'), {recursive: true});
for (const suite of ['unit', 'integration', 'interop', 'matrix', 'shell', 'faults']) {
    const entry = join(root, 'build', 'test', `.${suite}-entry.ts`);
    const lines = [`import {runSpecs} from '${join(root, 'test/lib/runner.ts')}';`];
    for (const f of specs(suite))
        lines.push(`import '${f}';`);
    lines.push(`runSpecs('${suite}');`);
    writeFileSync(entry, lines.join('\n'));
    await build({...common, entryPoints: {[suite]: entry}, outdir: join(root, 'build', 'test'),
        banner: {js: '// jasmine-core expects a browser or Node global; gjs has neither listener API.\nglobalThis.global ??= globalThis;\nglobalThis.addEventListener ??= () => {};\nglobalThis.removeEventListener ??= () => {};\nglobalThis.queueMicrotask ??= fn => Promise.resolve().then(fn);'}});
}
mkdirSync(join(root, 'bin'), {recursive: true});
const bin = join(root, 'bin/ferry');
writeFileSync(bin, '#!/bin/sh\n# Runs the ferry command line under gjs.\nexec gjs -m "$(dirname "$(readlink -f "$0")")/../build/cli/main.js" "$@"\n');
chmodSync(bin, 0o755);
