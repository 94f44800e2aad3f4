// Bytes written by the NODE platform (src/platform/node.ts: node:zlib, node:crypto), kept as
// data so runtimes that never run it (workerd, Chromium) check that they read and sign exactly
// as it does. test/node/platform.test.ts checks the node platform still writes these bytes; to
// regenerate, gzip JSON.stringify(snapshot) with it and sign `request` with its sigV4Signer.
export const nodeWritten = {
  snapshot: {
    scope: 'agent',
    schemaVersion: '1.0',
    createdAt: '2026-12-03T12:00:00.000Z',
    data: {
      messages: [
        {
          role: 'user',
          content: [
            {
              text: 'Turn 0: order #1000 shipped on day 0, tracking 0. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            {
              text: 'Turn 1: order #1001 shipped on day 1, tracking 1eef. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'user',
          content: [
            {
              text: 'Turn 2: order #1002 shipped on day 2, tracking 3dde. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            {
              text: 'Turn 3: order #1003 shipped on day 3, tracking 5ccd. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'user',
          content: [
            {
              text: 'Turn 4: order #1004 shipped on day 4, tracking 7bbc. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            {
              text: 'Turn 5: order #1005 shipped on day 5, tracking 9aab. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'user',
          content: [
            {
              text: 'Turn 6: order #1006 shipped on day 6, tracking b99a. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            {
              text: 'Turn 7: order #1007 shipped on day 7, tracking d889. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'user',
          content: [
            {
              text: 'Turn 8: order #1008 shipped on day 8, tracking f778. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            {
              text: 'Turn 9: order #1009 shipped on day 9, tracking 11667. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'user',
          content: [
            {
              text: 'Turn 10: order #1010 shipped on day 10, tracking 13556. Ünïcödé ✓',
            },
          ],
        },
        {
          role: 'assistant',
          content: [
            {
              text: 'Turn 11: order #1011 shipped on day 11, tracking 15445. Ünïcödé ✓',
            },
          ],
        },
      ],
    },
    appData: {
      tag: 'node-written',
    },
  },
  gzipBase64:
    'H4sIAAAAAAAAA63UP07DMBTH8atYjzWt7PyPNySOUDGAOrjxo42gTmS7AlTlFKy9ABMbF+hNOAkKQujhgjoks6X30Xfwbw+ubjsECWqNxkMErt7gVl2jdU1rQIKYc4igtqg86ksPEmIe5zMRz3iyELHkXHI+55zfQARaeQVyD1t0Tq3Rgbzdg20fBmDn0A6XWuMHaXjx+DQcXOysYVyy1mq07EJwzpnbNF2HmrWGafXMeMS8VfV9Y9aMz9nxYI5v9fFdH1/Zx+EF+mUf/UDKucZ59VXznyaoJkJNEE0g3p0Bz5TF1IpDKyZWojVOEJdQMAnBhIBZXetxcSm10tBKiVWsVvUEcRkFsxDMCFgptRoXl1MrD62cWKuqUhPEFRQsQrAgoC7LalxcSa0ytEpi3RVFOUFcRcEqBCv650SeF+PqBN0TcbIngg6KSLIsn2JU6KqI01X5NStZmmZ/mss+AtV1V99T6tUaJJhW4+zRNt6jgb7/BAZm1Na3BQAA',
  sha256: '8e3bf1e585518e436f232407f4dffb5025cbb4935fb9ea0e39f96ba1c44818f2',
  request: {
    method: 'PUT',
    url: 'http://127.0.0.1:7480/bucket/s1/scopes/agent/main/snapshots/snapshot_latest.json',
    headers: {
      'content-type': 'application/gzip',
      'x-amz-content-sha256': 'f0e5dc21b193e9ddf028b405f575109d92c4f79759b8e5228a4c7d3f827cb3c0',
    },
    region: 'us-east-1',
    datetime: '20261203T120000Z',
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  },
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=ed66ce7dee1ccaa78abfb618ccde0b7c8075a961ffa8f4ea783f9262fdfafa80',
} as const
