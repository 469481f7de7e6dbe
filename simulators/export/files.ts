import { appendFileSync } from 'node:fs';

/**
 * Appends text to many files with bounded memory: each file's text is held until it reaches
 * `fileBytes`, and when everything held reaches `totalBytes` all of it is written out. Files are
 * opened, appended and closed at each flush, so a plant of 10,000 sensors needs no 10,000 open
 * descriptors. Synchronous on purpose: an export is a batch job, and the caller yields to the
 * event loop between steps.
 *
 * When full: write (never drop). Sizes count UTF-16 code units, close to bytes for CSV text.
 */

export interface BufferedFiles {
  append(path: string, text: string): void;
  /** Writes everything held. */
  flush(): void;
  /** Characters written so far, all files. */
  readonly written: number;
}

export function createBufferedFiles(opts: { fileBytes?: number; totalBytes?: number } = {}): BufferedFiles {
  const fileBytes = opts.fileBytes ?? 64 * 1024;
  const totalBytes = opts.totalBytes ?? 32 * 1024 * 1024;
  const held = new Map<string, { parts: string[]; size: number }>();
  let heldTotal = 0;
  let written = 0;

  const writeOut = (path: string, buf: { parts: string[]; size: number }): void => {
    if (buf.size === 0) return;
    appendFileSync(path, buf.parts.join(''));
    written += buf.size;
    heldTotal -= buf.size;
    buf.parts = [];
    buf.size = 0;
  };

  return {
    append(path, text) {
      let buf = held.get(path);
      if (!buf) held.set(path, (buf = { parts: [], size: 0 }));
      buf.parts.push(text);
      buf.size += text.length;
      heldTotal += text.length;
      if (buf.size >= fileBytes) writeOut(path, buf);
      else if (heldTotal >= totalBytes) this.flush();
    },
    flush() {
      for (const [path, buf] of held) writeOut(path, buf);
    },
    get written() {
      return written;
    },
  };
}
