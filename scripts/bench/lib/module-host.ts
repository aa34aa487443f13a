/**
 * Runs another benchmark module's run() in a helper process, e.g. inside a private network
 * namespace (rpc.ts needs port 135 for samba-dcerpcd).
 */
import * as path from 'node:path';
import { serve } from './child';

serve({
  run: async (a: { file: string; opts: unknown }) => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require(path.resolve(a.file)) as { run?: (o: unknown) => Promise<unknown> };
    if (typeof mod.run !== 'function') throw new Error(`${a.file} exports no run()`);
    return mod.run(a.opts);
  },
});
