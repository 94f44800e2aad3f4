// TieredStorage in real Deno on the BUILT package imported by name: Memory → Memory, and Memory →
// HttpStorage → a real `Deno.serve` socket → createSnapshotHandler → MemoryStorage.
import { runContractSuite } from 'snapshelf/testing'
import { runtimeHarnesses } from '../harnesses.ts'
import { denoServe, denoTest } from './serve.ts'

for (const harness of runtimeHarnesses('deno', 'Deno.serve', denoServe).tiered) runContractSuite(denoTest, harness)
