// `npm run bench`: every benchmark, each against a baseline measured in the same run.
import { benchCliStart } from './cli-start.mjs';
import { benchDaemon } from './daemon.mjs';
import { benchDispatch } from './dispatch.mjs';
import { benchInstant } from './instant.mjs';
import { benchMetrics } from './metrics.mjs';
import { benchPeers } from './peers.mjs';
import { benchScale } from './scale.mjs';
import { benchStores } from './stores.mjs';
import { cleanup, loadAverage } from './lib.mjs';
import * as os from 'node:os';

console.log(
  `# conductor benchmarks — ${new Date().toISOString()} — node ${process.version}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${loadAverage()}`,
);
const results = {};
results.cli_start = benchCliStart();
cleanup();
results.dispatch = await benchDispatch();
cleanup();
results.daemon = await benchDaemon();
cleanup();
results.instant = await benchInstant();
cleanup();
results.scale = await benchScale(Number(process.env.BENCH_SCALE) || 100_000);
cleanup();
results.metrics = await benchMetrics(Number(process.env.BENCH_SCALE) || 100_000);
cleanup();
results.stores = await benchStores();
cleanup();
// graphile-worker and pg-boss from npm into a temporary folder: skipped with a line when npm cannot install them.
results.peers = await benchPeers();
cleanup();
if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
