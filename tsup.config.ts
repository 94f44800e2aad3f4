import { defineConfig } from 'tsup'

// One entry per subpath export; shared code is split into chunks so `snapshelf/s3` and
// `snapshelf` share one copy of the snapshot layer when both are imported.
const entries = {
  index: 'src/entries/index.ts',
  s3: 'src/entries/s3.ts',
  r2: 'src/entries/r2.ts',
  indexeddb: 'src/entries/indexeddb.ts',
  http: 'src/entries/http.ts',
  tiered: 'src/entries/tiered.ts',
  testing: 'src/entries/testing.ts',
  strands: 'src/entries/strands.ts',
  genkit: 'src/entries/genkit.ts',
  langgraph: 'src/entries/langgraph.ts',
}

export default defineConfig({
  entry: {
    ...entries,
    // `#platform`, one file per runtime family: package.json `imports` picks one at import time by
    // export condition, so they stay separate files and every other file imports `#platform` by
    // that name (external below), never one of them directly.
    'platform/node': 'src/platform/node.ts',
    'platform/web': 'src/platform/web.ts',
  },
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  // Types of the public entries only: `#platform` is internal (no exported type names it).
  dts: { entry: entries },
  splitting: true,
  treeshake: true,
  clean: false, // scripts/test.mjs removes dist/ itself; parallel dev builds must not delete files under a running test
  sourcemap: true,
  // dist/platform/node.js imports `node:zlib` and `node:crypto`: Deno resolves a builtin only by
  // its `node:` name, so the prefix tsup strips by default must stay.
  removeNodeProtocol: false,
  // `#platform` resolves in the user's runtime or bundler, through our package.json `imports`.
  // Peer dependencies an adapter imports at run time (genkit: snapshelf/genkit; LangGraph's base class: snapshelf/langgraph).
  external: ['#platform', /^node:/, 'aws4fetch', 'genkit', /^genkit\//, '@langchain/langgraph-checkpoint'],
})
