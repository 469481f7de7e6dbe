import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A worker thread's file: worker threads load built JavaScript. From dist/ the worker sits next
 * to the module that starts it; when that module runs as TypeScript (vitest), the worker is the
 * built copy under dist/, which `npm test` builds first.
 *
 * `callerUrl`: the caller's import.meta.url; `name`: the worker's file name beside the caller,
 * e.g. "writer-worker.js"; `what`: how to name it in the error.
 */
export function builtWorkerFile(callerUrl: string, name: string, what: string): string {
  const here = fileURLToPath(callerUrl);
  let file = fileURLToPath(new URL(`./${name}`, callerUrl));
  if (here.endsWith('.ts')) {
    // <repo>/<dir…>/caller.ts → <repo>/dist/<dir…>/<name>
    const root = fileURLToPath(new URL('../', import.meta.url));
    file = `${root}dist/${file.slice(root.length)}`;
  }
  if (!existsSync(file)) throw new Error(`${what} ${file} is missing: run "npm run build" first`);
  return file;
}
