// The Bun runners import the BUILT package: every exported name resolves into dist/ (Bun applies
// the nearest tsconfig.json's `paths`, see test/runtime/tsconfig.json).
import { test } from 'bun:test'
import { assertPlatform, assertResolvesToDist } from '../built-package.ts'
import { resolveFromHarnesses } from '../harnesses.ts'
import { largeRoundTrip } from '../large.ts'

test('every snapshelf entry resolves to dist/ (bun)', () => {
  assertResolvesToDist('test/runtime/bun', (name) => import.meta.resolve(name))
  assertResolvesToDist('test/runtime/harnesses.ts', resolveFromHarnesses)
})

// Measured faster than its web APIs here (gzip 2x, SHA-256 10-18x): Bun takes node:zlib and node:crypto.
test('#platform resolves to the node platform (bun)', () => {
  assertPlatform('test/runtime/bun', (name) => import.meta.resolve(name), 'node')
})

test('a large snapshot (5 MB, written piece by piece) round-trips on the node platform (bun)', async () => {
  await largeRoundTrip()
})
