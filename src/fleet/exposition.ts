/**
 * The Prometheus text exposition format (0.0.4), read: what `acceptq
 * export` serves, scraped directly by `acceptq fleet --targets`. Comments
 * and TYPE/HELP lines are skipped; a sample's timestamp, if any, is ignored
 * (the scrape's time is the sample's).
 */

/** One sample: its metric name, its labels, its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class ExpositionError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,?)/;
const UNESCAPE: Record<string, string> = { '\\\\': '\\', '\\"': '"', '\\n': '\n' };

function value(text: string, line: number): number {
  switch (text) {
    case '+Inf': return Infinity;
    case '-Inf': return -Infinity;
    case 'NaN': return NaN;
  }
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new ExpositionError(`line ${line}: '${text.slice(0, 40)}' is not a number`);
  return v;
}

/** Every sample of an exposition; a malformed line throws ExpositionError naming it. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (!line || line[0] === '#') continue;
    const name = NAME.exec(line);
    if (!name) throw new ExpositionError(`line ${lineNo}: no metric name`);
    let rest = line.slice(name[0].length);
    const labels: Record<string, string> = {};
    if (rest[0] === '{') {
      rest = rest.slice(1);
      for (;;) {
        const close = /^\s*\}/.exec(rest);
        if (close) {
          rest = rest.slice(close[0].length);
          break;
        }
        const l = LABEL.exec(rest);
        if (!l) throw new ExpositionError(`line ${lineNo}: bad label set`);
        labels[l[1]] = l[2].replace(/\\[\\"n]/g, (e) => UNESCAPE[e]);
        rest = rest.slice(l[0].length);
        if (!l[3] && !/^\s*\}/.test(rest)) throw new ExpositionError(`line ${lineNo}: bad label set`);
      }
    }
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2) throw new ExpositionError(`line ${lineNo}: want a value and at most a timestamp`);
    out.push({ name: name[0], labels, value: value(fields[0], lineNo) });
  }
  return out;
}
