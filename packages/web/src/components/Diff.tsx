/** Before/after of an audit event as a line diff of their pretty-printed JSON. */

type Line = { kind: 'same' | 'add' | 'del'; text: string };

const pretty = (v: unknown) => (v === null || v === undefined ? [] : JSON.stringify(sortKeys(v), null, 2).split('\n'));

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Longest-common-subsequence line diff (inputs are small: one flag's JSON). */
export function diffLines(a: string[], b: string[]): Line[] {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return [...a.map((text) => ({ kind: 'del' as const, text })), ...b.map((text) => ({ kind: 'add' as const, text }))];
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out: Line[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i] });
      i++;
      j++;
    } else if (dp[i + 1][j] >= dp[i][j + 1]) out.push({ kind: 'del', text: a[i++] });
    else out.push({ kind: 'add', text: b[j++] });
  }
  while (i < n) out.push({ kind: 'del', text: a[i++] });
  while (j < m) out.push({ kind: 'add', text: b[j++] });
  return out;
}

/** Keeps changed lines with `context` lines around them; long unchanged runs fold into "…". */
function fold(lines: Line[], context = 3): (Line | { kind: 'fold'; count: number })[] {
  const keep = lines.map(() => false);
  lines.forEach((l, i) => {
    if (l.kind !== 'same') for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out: (Line | { kind: 'fold'; count: number })[] = [];
  let skipped = 0;
  lines.forEach((l, i) => {
    if (keep[i]) {
      if (skipped) out.push({ kind: 'fold', count: skipped });
      skipped = 0;
      out.push(l);
    } else skipped++;
  });
  if (skipped) out.push({ kind: 'fold', count: skipped });
  return out;
}

export function Diff({ before, after }: { before: unknown; after: unknown }) {
  const lines = diffLines(pretty(before), pretty(after));
  if (lines.length === 0) return <p className="muted">No details recorded.</p>;
  const changed = lines.some((l) => l.kind !== 'same');
  const shown = changed ? fold(lines) : lines;
  return (
    <div className="diff" role="group" aria-label="Before and after">
      <p className="diff-legend">
        <span className="diff-del-key">− before</span> <span className="diff-add-key">+ after</span>
      </p>
      <pre>
        {shown.map((l, i) =>
          l.kind === 'fold' ? (
            <span key={i} className="diff-fold">
              {`  … ${l.count} unchanged line${l.count === 1 ? '' : 's'}\n`}
            </span>
          ) : (
            <span key={i} className={`diff-${l.kind}`}>
              {(l.kind === 'add' ? '+ ' : l.kind === 'del' ? '− ' : '  ') + l.text + '\n'}
            </span>
          ),
        )}
      </pre>
    </div>
  );
}
