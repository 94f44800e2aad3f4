// The Deno runners import the BUILT package: every exported name resolves into dist/.
import { assertResolvesToDist } from '../built-package.ts'
import { resolveFromHarnesses } from '../harnesses.ts'

Deno.test('every snapshelf entry resolves to dist/ (deno)', () => {
  assertResolvesToDist('test/runtime/deno', (name) => import.meta.resolve(name))
  assertResolvesToDist('test/runtime/harnesses.ts', resolveFromHarnesses)
})
