// TieredStorage in real Bun on the BUILT package imported by name: Memory → Memory, and Memory →
// HttpStorage → a real `Bun.serve` socket → createSnapshotHandler → MemoryStorage.
import { runContractSuite } from 'snapshelf/testing'
import { runtimeHarnesses } from '../harnesses.ts'
import { bunServe, bunTest } from './serve.ts'

for (const harness of runtimeHarnesses('bun', 'Bun.serve', bunServe).tiered) runContractSuite(bunTest, harness)
