/**
 * Loaded into each service the bench starts as a process (`--import`, with `--expose-gc`): on SIGUSR2 it collects
 * garbage twice and prints the process's memory on one line, so the bench can weigh what a subscriber costs.
 */

/** What the line the probe prints starts with; the rest is `process.memoryUsage()` as JSON. */
export const MEMORY_PROBE_PREFIX = 'bench-memory ';

const collect = (globalThis as { gc?: () => void }).gc;
// Imported by the bench itself only for the prefix: there is no SIGUSR2 to answer and no gc to call.
if (collect) {
  process.on('SIGUSR2', () => {
    collect();
    collect();
    process.stdout.write(`${MEMORY_PROBE_PREFIX}${JSON.stringify(process.memoryUsage())}\n`);
  });
}
