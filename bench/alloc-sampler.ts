/**
 * Preload (`node -r bench/dist/alloc-sampler.js`) for bench/alloc-profile.ts:
 * V8's sampling heap profiler over the whole process, counting objects the GC
 * has already collected too — so the profile says what ALLOCATES, not only
 * what is still alive. On SIGUSR2 it writes the profile since the last signal
 * to ALLOC_PROFILE_DIR/<n>.heapprofile and starts a new one.
 */
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';

const dir = process.env.ALLOC_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  const start = () => session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  start();
  let n = 0;
  process.on('SIGUSR2', () => {
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (!err) fs.writeFileSync(path.join(dir, `${++n}.heapprofile`), JSON.stringify((res as { profile: unknown }).profile));
      start();
    });
  });
}
