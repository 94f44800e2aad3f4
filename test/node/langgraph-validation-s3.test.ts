import { S3Storage } from 'snapshelf/s3'
import { runLangGraphValidation } from '../helpers/langgraph-validation.js'
import { describeS3, s3Options, uniquePrefix, wipePrefix } from '../helpers/s3.js'

// LangGraph's validation suite over S3Storage against the real Ceph gateway: SigV4, conditional
// PUTs (create-only channel values and writes), ListObjectsV2 paging for `list`. A fresh prefix per
// checkpointer (the suite's `list` cases without a thread id expect exactly the threads they wrote),
// all wiped afterwards.
const prefixes: string[] = []
describeS3('LangGraph validation over S3Storage (Ceph)', () =>
  runLangGraphValidation(
    'S3Storage (Ceph)',
    () => {
      const prefix = uniquePrefix('lg')
      prefixes.push(prefix)
      return new S3Storage(s3Options({ prefix }))
    },
    { afterAll: async () => void (await Promise.all(prefixes.map(wipePrefix))) },
  ),
)
