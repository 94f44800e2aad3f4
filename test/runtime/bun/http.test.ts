// HttpStorage → createSnapshotHandler → MemoryStorage in real Bun on the BUILT package imported by
// name: once in-process (the `fetch` option), once over a real socket served by `Bun.serve`.
import { runContractSuite } from 'snapshelf/testing'
import { runtimeHarnesses } from '../harnesses.ts'
import { bunServe, bunTest } from './serve.ts'

for (const harness of runtimeHarnesses('bun', 'Bun.serve', bunServe).http) runContractSuite(bunTest, harness)
