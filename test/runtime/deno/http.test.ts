// HttpStorage → createSnapshotHandler → MemoryStorage in real Deno on the BUILT package imported by
// name: once in-process (the `fetch` option), once over a real socket served by `Deno.serve`.
import { runContractSuite } from 'snapshelf/testing'
import { runtimeHarnesses } from '../harnesses.ts'
import { denoServe, denoTest } from './serve.ts'

for (const harness of runtimeHarnesses('deno', 'Deno.serve', denoServe).http) runContractSuite(denoTest, harness)
