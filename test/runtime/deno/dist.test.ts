// The Deno runners import the BUILT package: every exported name resolves into dist/.
import { assertPlatform, assertResolvesToDist } from '../built-package.ts'
import { resolveFromHarnesses } from '../harnesses.ts'
import { largeRoundTrip } from '../large.ts'

Deno.test('every snapshelf entry resolves to dist/ (deno)', () => {
  assertResolvesToDist('test/runtime/deno', (name) => import.meta.resolve(name))
  assertResolvesToDist('test/runtime/harnesses.ts', resolveFromHarnesses)
})

// Measured faster than its web APIs here (gzip 2x, SHA-256 10-18x): Deno's node compat takes node:zlib and node:crypto.
Deno.test('#platform resolves to the node platform (deno)', () => {
  assertPlatform('test/runtime/deno', (name) => import.meta.resolve(name), 'node')
})

Deno.test('a large snapshot (5 MB, written piece by piece) round-trips on the node platform (deno)', async () => {
  await largeRoundTrip()
})
