import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesFor, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

describe('a 50 MB upload', () => {
  let legacy: TestUpstream;
  let proxy: TestProxy;
  let firstBytesArrived: () => void = () => {};

  beforeAll(async () => {
    legacy = await startUpstream((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstBytesArrived();
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    });
    proxy = await startProxy(routesFor({ legacy: legacy.url }, '  - id: all\n    match: { path: "/*" }\n'));
  });
  afterAll(async () => {
    await proxy.close();
    await legacy.close();
  });

  it('is streamed: the upstream reads the first megabyte before the client has sent the rest, and every byte arrives', async () => {
    const chunk = Buffer.alloc(1024 * 1024);
    const total = 50;
    const expected = createHash('sha256');
    const result = new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
      const req = request(`${proxy.url}/media/upload`, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': total * chunk.length } }, (res) => {
        let text = '';
        res.on('data', (part: Buffer) => (text += part.toString()));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      // Send one megabyte, then wait until the upstream has it: a buffering proxy would deadlock here.
      chunk.fill(1);
      expected.update(chunk);
      req.write(chunk);
      firstBytesArrived = () => {
        for (let index = 1; index < total; index += 1) {
          const part = Buffer.alloc(chunk.length, index % 251);
          expected.update(part);
          req.write(part);
        }
        req.end();
      };
    });
    const { bytes, sha256 } = await result;
    expect(bytes).toBe(total * chunk.length);
    expect(sha256).toBe(expected.digest('hex'));
  });
});
