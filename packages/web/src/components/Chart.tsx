/**
 * A small hand-written SVG line chart for time series: axes with labels, a legend, vertical
 * markers (milestone changes), horizontal rules (thresholds), and a data table as the accessible
 * fallback (and for exact numbers). No chart library: one component, a few hundred lines.
 *
 * The SVG is `role="img"` with a <title> and <desc>; the figure's caption names it; the table sits
 * in a <details> below, rendered only when opened.
 */
import { useId, useLayoutEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from 'react';

export interface ChartPoint {
  x: number;
  y: number | null;
  /** Points of different segments are not joined (e.g. a new milestone restarts a cumulative count). */
  segment?: number;
}

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  dash?: string;
  width?: number;
  /** Draw as steps (the value holds until the next point). */
  step?: boolean;
  points: ChartPoint[];
  /** Leave out of the data table. */
  noTable?: boolean;
}

export interface ChartMarker {
  x: number;
  label: string;
  tone?: 'neutral' | 'danger' | 'ok' | 'warn';
}

export interface ChartRule {
  y: number;
  label: string;
  color?: string;
}

export interface ChartProps {
  title: string;
  /** Spans the whole row of a chart grid. */
  wide?: boolean;
  /** What the chart shows, in a sentence (the SVG's <desc>). */
  description: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  markers?: ChartMarker[];
  rules?: ChartRule[];
  xDomain: [number, number];
  /** Fixed y domain; else from the data (and the rules), starting at 0 unless `yFromData`. */
  yDomain?: [number, number];
  yMin?: number;
  yFormat: (v: number) => string;
  /** Tick values to use instead of computed ones (e.g. powers of ten on a log axis). */
  yTicks?: number[];
  xFormat: (v: number) => string;
  /** Value formatting in the table (default yFormat). */
  tableFormat?: (v: number) => string;
  height?: number;
  /** Shown instead of the plot when no series has a value. */
  empty?: ReactNode;
  /** Extra controls in the header (toggles). */
  controls?: ReactNode;
}

const MARGIN = { top: 22, right: 14, bottom: 38, left: 58 };

/** Nice round ticks for a linear axis. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const span = max - min;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

/** Ticks for a time axis: round seconds, minutes or hours, about `count` of them. */
export function timeTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const step = TIME_STEPS.find((s) => (max - min) / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const offset = new Date(min).getTimezoneOffset() * 60_000;
  const out: number[] = [];
  for (let v = Math.ceil((min - offset) / step) * step + offset; v <= max; v += step) out.push(v);
  return out;
}

function useWidth(initial: number): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(initial);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth || initial);
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.round(entries[0].contentRect.width);
      if (w > 0) setWidth(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [initial]);
  return [ref, width];
}

const MARKER_COLOR = { neutral: '#7b8797', danger: '#b42318', ok: '#1b7f46', warn: '#8a5a00' };

export function LineChart(props: ChartProps) {
  const { title, description, xLabel, yLabel, series, markers = [], rules = [], xDomain, yFormat, xFormat, height = 220 } = props;
  const id = useId();
  const [ref, width] = useWidth(560);
  const [tableOpen, setTableOpen] = useState(false);

  const hasData = series.some((s) => s.points.some((p) => p.y !== null));
  const [y0, y1] = useMemo(() => {
    if (props.yDomain) return props.yDomain;
    const values = series.flatMap((s) => s.points.map((p) => p.y)).filter((v): v is number => v !== null && Number.isFinite(v));
    for (const r of rules) values.push(r.y);
    let lo = props.yMin ?? Math.min(0, ...values);
    let hi = values.length ? Math.max(...values) : 1;
    if (props.yMin !== undefined) lo = Math.min(props.yMin, ...values);
    if (hi <= lo) hi = lo + 1;
    const ticks = niceTicks(lo, hi + (hi - lo) * 0.08);
    return [Math.min(lo, ticks[0]), Math.max(hi, ticks[ticks.length - 1])] as [number, number];
  }, [series, rules, props.yDomain, props.yMin]);

  const plotW = Math.max(40, width - MARGIN.left - MARGIN.right);
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const [x0, x1raw] = xDomain;
  const x1 = x1raw > x0 ? x1raw : x0 + 1000;
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * plotH;
  const yTicks = (props.yTicks ?? niceTicks(y0, y1)).filter((v) => v >= y0 - 1e-9 && v <= y1 + 1e-9);
  const xTicks = timeTicks(x0, x1, Math.max(2, Math.floor(plotW / 90)));

  const paths = series.map((s) => {
    let d = '';
    let prev: ChartPoint | null = null;
    for (const p of s.points) {
      if (p.y === null || !Number.isFinite(p.y)) {
        prev = null;
        continue;
      }
      const X = sx(p.x).toFixed(1);
      const Y = sy(p.y).toFixed(1);
      if (!prev || prev.segment !== p.segment) d += `M${X},${Y}`;
      else if (s.step) d += `H${X}V${Y}`;
      else d += `L${X},${Y}`;
      prev = p;
    }
    return d;
  });
  const dense = series.reduce((n, s) => Math.max(n, s.points.length), 0) > plotW / 6;

  // Marker labels alternate between two rows when they would collide.
  let lastLabelX = -Infinity;
  let row = 0;
  const placed = markers
    .filter((m) => m.x >= x0 && m.x <= x1)
    .map((m) => {
      const X = sx(m.x);
      row = X - lastLabelX < 90 ? (row + 1) % 2 : 0;
      lastLabelX = X;
      return { ...m, X, row };
    });

  return (
    <figure className={`chart${props.wide ? ' chart-wide' : ''}`} aria-labelledby={`${id}-t`}>
      <div className="chart-header">
        <figcaption id={`${id}-t`} className="chart-title">
          {title}
        </figcaption>
        {props.controls}
      </div>
      <ul className="chart-legend" aria-label={`${title}: legend`}>
        {series
          .filter((s) => !s.noTable || s.points.length)
          .map((s) => (
            <li key={s.key}>
              <svg width="22" height="10" aria-hidden="true">
                <line x1="1" y1="5" x2="21" y2="5" stroke={s.color} strokeWidth={s.width ?? 2} strokeDasharray={s.dash} />
              </svg>
              {s.label}
            </li>
          ))}
        {rules.map((r) => (
          <li key={`rule-${r.label}`}>
            <svg width="22" height="10" aria-hidden="true">
              <line x1="1" y1="5" x2="21" y2="5" stroke={r.color ?? '#b42318'} strokeWidth="1.5" strokeDasharray="5 3" />
            </svg>
            {r.label}
          </li>
        ))}
      </ul>
      <div ref={ref} className="chart-plot">
        {!hasData && props.empty ? (
          <div className="chart-empty" style={{ height }}>
            {props.empty}
          </div>
        ) : (
          <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-st ${id}-sd`} className="chart-svg">
            <title id={`${id}-st`}>{title}</title>
            <desc id={`${id}-sd`}>{description}</desc>
            {/* grid and y axis */}
            {yTicks.map((v) => (
              <g key={`y${v}`}>
                <line x1={MARGIN.left} x2={MARGIN.left + plotW} y1={sy(v)} y2={sy(v)} className="chart-grid" />
                <text x={MARGIN.left - 6} y={sy(v)} dy="0.32em" textAnchor="end" className="chart-tick">
                  {yFormat(v)}
                </text>
              </g>
            ))}
            {xTicks.map((v) => (
              <g key={`x${v}`}>
                <line x1={sx(v)} x2={sx(v)} y1={MARGIN.top + plotH} y2={MARGIN.top + plotH + 4} className="chart-axis" />
                <text x={sx(v)} y={MARGIN.top + plotH + 16} textAnchor="middle" className="chart-tick">
                  {xFormat(v)}
                </text>
              </g>
            ))}
            <line x1={MARGIN.left} x2={MARGIN.left + plotW} y1={MARGIN.top + plotH} y2={MARGIN.top + plotH} className="chart-axis" />
            <line x1={MARGIN.left} x2={MARGIN.left} y1={MARGIN.top} y2={MARGIN.top + plotH} className="chart-axis" />
            <text x={MARGIN.left + plotW / 2} y={height - 4} textAnchor="middle" className="chart-label">
              {xLabel}
            </text>
            <text transform={`translate(13 ${MARGIN.top + plotH / 2}) rotate(-90)`} textAnchor="middle" className="chart-label">
              {yLabel}
            </text>
            {/* markers */}
            {placed.map((m, i) => (
              <g key={`m${i}`} className="chart-marker">
                <line x1={m.X} x2={m.X} y1={MARGIN.top - 2 + m.row * 11} y2={MARGIN.top + plotH} stroke={MARKER_COLOR[m.tone ?? 'neutral']} strokeDasharray="3 3" />
                <text
                  x={m.X > MARGIN.left + plotW - 70 ? m.X - 3 : m.X + 3}
                  textAnchor={m.X > MARGIN.left + plotW - 70 ? 'end' : 'start'}
                  y={MARGIN.top - 12 + m.row * 11}
                  dy="0.9em"
                  className="chart-marker-label"
                  fill={MARKER_COLOR[m.tone ?? 'neutral']}
                >
                  {m.label}
                </text>
              </g>
            ))}
            {/* rules */}
            {rules.map((r) => (
              <line key={`r${r.label}`} x1={MARGIN.left} x2={MARGIN.left + plotW} y1={sy(r.y)} y2={sy(r.y)} stroke={r.color ?? '#b42318'} strokeWidth="1.5" strokeDasharray="5 3" />
            ))}
            {/* series */}
            {series.map((s, i) => (
              <g key={s.key}>
                <path d={paths[i]} fill="none" stroke={s.color} strokeWidth={s.width ?? 2} strokeDasharray={s.dash} strokeLinejoin="round" strokeLinecap="round" />
                {!dense && !s.step
                  ? s.points.map((p, j) =>
                      p.y === null || !Number.isFinite(p.y) ? null : (
                        <circle key={j} cx={sx(p.x)} cy={sy(p.y)} r={2.6} fill={s.color}>
                          <title>{`${s.label} at ${xFormat(p.x)}: ${(props.tableFormat ?? yFormat)(p.y)}`}</title>
                        </circle>
                      ),
                    )
                  : null}
              </g>
            ))}
          </svg>
        )}
      </div>
      <details className="chart-table" onToggle={(e) => setTableOpen((e.target as HTMLDetailsElement).open)}>
        <summary>Data table</summary>
        {tableOpen ? <DataTable {...props} /> : null}
      </details>
    </figure>
  );
}

function DataTable({ title, series, xFormat, yFormat, tableFormat, xLabel }: ChartProps) {
  const shown = series.filter((s) => !s.noTable);
  const rows = useMemo(() => {
    const byX = new Map<number, Map<string, number | null>>();
    for (const s of shown)
      for (const p of s.points) {
        if (!byX.has(p.x)) byX.set(p.x, new Map());
        byX.get(p.x)!.set(s.key, p.y);
      }
    return [...byX.entries()].sort((a, b) => a[0] - b[0]);
  }, [shown]);
  const fmt = tableFormat ?? yFormat;
  return (
    <div className="table-wrap chart-table-wrap">
      <table className="table">
        <caption className="visually-hidden">{title}</caption>
        <thead>
          <tr>
            <th scope="col">{xLabel}</th>
            {shown.map((s) => (
              <th scope="col" key={s.key} className="num">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([x, values]) => (
            <tr key={x}>
              <th scope="row">{xFormat(x)}</th>
              {shown.map((s) => {
                const v = values.get(s.key);
                return (
                  <td key={s.key} className="num">
                    {v === undefined || v === null ? '–' : fmt(v)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A two-option toggle (radio group styled as buttons), for chart views. */
export function Toggle<K extends string>({ label, options, value, onChange }: { label: string; options: Array<{ key: K; label: string }>; value: K; onChange: (k: K) => void }) {
  const name = useId();
  return (
    <fieldset className="toggle">
      <legend className="visually-hidden">{label}</legend>
      {options.map((o) => (
        <label key={o.key} className={o.key === value ? 'toggle-on' : undefined}>
          <input type="radio" name={name} value={o.key} checked={o.key === value} onChange={() => onChange(o.key)} />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}
