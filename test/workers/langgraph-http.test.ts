import { env } from 'cloudflare:workers'
import { HttpStorage, createSnapshotHandler } from 'snapshelf/http'
import { langgraphLayout } from 'snapshelf/langgraph'
import { R2Storage } from 'snapshelf/r2'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'

// LangGraph's validation suite inside real workerd, as a browser would reach a Worker: the saver over
// HttpStorage, whose requests go to createSnapshotHandler (serving langgraphLayout) over miniflare's
// local R2 binding. A fresh prefix per checkpointer: the suite's thread-less `list` cases expect
// exactly the threads they wrote.
const unique = (tag: string) => `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`

await runLangGraphValidation('HttpStorage → createSnapshotHandler → R2Storage (workerd)', () => {
  const handle = createSnapshotHandler({
    storage: new R2Storage({ bucket: env.SNAPSHOTS, prefix: unique('lg-http') }),
    layouts: [langgraphLayout],
    authorize: () => true,
  })
  return new HttpStorage({ baseUrl: 'https://worker.test/', fetch: (input, init) => handle(new Request(input, init)) })
})
