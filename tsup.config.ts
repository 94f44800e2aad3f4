import { defineConfig } from 'tsup'

// One entry per subpath export; shared code is split into chunks so `snapshelf/s3` and
// `snapshelf` share one copy of the snapshot layer when both are imported.
export default defineConfig({
  entry: {
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
  },
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: true,
  splitting: true,
  treeshake: true,
  clean: false, // scripts/test.mjs removes dist/ itself; parallel dev builds must not delete files under a running test
  sourcemap: true,
  // Peer dependencies an adapter imports at run time (genkit: snapshelf/genkit; LangGraph's base class: snapshelf/langgraph).
  external: ['aws4fetch', 'genkit', /^genkit\//, '@langchain/langgraph-checkpoint'],
})
