import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../lib/theme';
import { useI18n } from '../i18n';

export interface ChartSeries {
  label: string;
  /** A CSS custom property (`--chart-1`) or a colour. */
  color: string;
  values: (number | null)[];
  kind?: 'line' | 'bars' | 'area';
  dash?: boolean;
}

function cssColor(c: string): string {
  if (!c.startsWith('--')) return c;
  return getComputedStyle(document.documentElement).getPropertyValue(c).trim() || '#888';
}

function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * A small time-series chart on uPlot (canvas, ~50 KB). The legend is ours: colour and label, and
 * while the cursor is over the chart, the values and time of the bucket under it.
 */
export function TimeChart({
  x,
  series,
  height = 180,
  fmt,
  emptyText,
  testId,
  bucketSeconds = 60,
  integer,
}: {
  /** Bucket start times, unix seconds. */
  x: number[];
  /** Width of a bucket: the x axis runs to the end of the last one (bars start at their bucket). */
  bucketSeconds?: number;
  /** Whole-number values: y ticks at 1, 2, 5, 10… only. */
  integer?: boolean;
  series: ChartSeries[];
  height?: number;
  fmt(v: number | null): string;
  emptyText?: string;
  testId?: string;
}) {
  const { theme } = useTheme();
  const { locale } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [idx, setIdx] = useState<number | null>(null);
  const fmtRef = useRef(fmt);
  fmtRef.current = fmt;

  const data = useMemo<uPlot.AlignedData>(() => [x, ...series.map((s) => s.values)], [x, series]);
  const shape = series.map((s) => `${s.label}:${s.kind}:${s.color}`).join('|');
  const empty = series.every((s) => s.values.every((v) => v === null || v === 0));

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssColor('--text-3');
    const grid = cssColor('--chart-grid');
    const timeFmt = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hour12: false });
    const bars = uPlot.paths.bars!({ size: [0.72, 24, 1], align: 1 });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      padding: [8, 4, 0, 0],
      legend: { show: false },
      cursor: {
        points: { size: 6, width: 1.5 },
        drag: { x: false, y: false, setScale: false },
        focus: { prox: 24 },
      },
      focus: { alpha: 0.35 },
      scales: {
        x: { time: true, range: (u, min, max) => [u.data[0][0] ?? min, (u.data[0][u.data[0].length - 1] ?? max) + bucketSeconds] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        {
          stroke: text,
          font: '11px Inter Variable, system-ui, sans-serif',
          grid: { show: false },
          ticks: { show: false },
          size: 26,
          gap: 4,
          space: 70,
          values: (_u, splits) => splits.map((s) => timeFmt.format(new Date(s * 1000))),
        },
        {
          stroke: text,
          font: '11px Inter Variable, system-ui, sans-serif',
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          size: 48,
          gap: 6,
          space: 32,
          incrs: integer ? INT_INCRS : DEC_INCRS,
          values: (_u, splits) => splits.map((v) => fmtRef.current(v)),
        },
      ],
      series: [
        {},
        ...series.map((s): uPlot.Series => {
          const color = cssColor(s.color);
          return {
            label: s.label,
            stroke: color,
            width: s.kind === 'bars' ? 0 : 1.75,
            fill: s.kind === 'bars' ? withAlpha(color, 0.85) : s.kind === 'area' ? withAlpha(color, 0.12) : undefined,
            paths: s.kind === 'bars' ? bars : undefined,
            // Lines cannot show a lone value between gaps: draw a dot there.
            points: s.kind === 'bars' ? { show: false } : { show: true, size: 5, width: 1, fill: color, filter: isolatedPoints },
            dash: s.dash ? [4, 4] : undefined,
            spanGaps: false,
          };
        }),
      ],
      hooks: {
        setCursor: [(u) => setIdx(u.cursor.idx ?? null)],
      },
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt when the theme, locale, height or the series' shape change; data updates go through setData.
  }, [theme, locale, height, shape, bucketSeconds, integer]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const at = idx;
  const timeLabel =
    at !== null && x[at] !== undefined ? new Intl.DateTimeFormat(locale, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(x[at]! * 1000)) : '';

  return (
    <div className="chart" data-testid={testId}>
      <div className="chart-legend">
        {series.map((s) => (
          <span key={s.label} className="legend-item">
            <span className={`legend-swatch${s.dash ? ' dashed' : ''}`} style={{ background: s.dash ? undefined : `var(${s.color})`, borderColor: `var(${s.color})` }} />
            <span className="legend-label">{s.label}</span>
            {at !== null && <span className="legend-value mono">{fmt(s.values[at] ?? null)}</span>}
          </span>
        ))}
        <span className="legend-time muted mono">{timeLabel}</span>
      </div>
      <div className="chart-canvas" ref={box} style={{ height }} onMouseLeave={() => setIdx(null)}>
        {empty && emptyText && <div className="chart-empty muted">{emptyText}</div>}
      </div>
    </div>
  );
}

// 1-2-5 steps (uPlot's default has 2.5, which prints as "0.3" after rounding).
const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 1e9, 1e10];
const DEC_INCRS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, ...INT_INCRS];

/** Indices of values with no value on either side: a line through them would draw nothing. */
function isolatedPoints(u: uPlot, seriesIdx: number): number[] {
  const ys = u.data[seriesIdx] as (number | null | undefined)[];
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] === null || ys[i] === undefined) continue;
    const before = i > 0 ? ys[i - 1] : null;
    const after = i < ys.length - 1 ? ys[i + 1] : null;
    if ((before === null || before === undefined) && (after === null || after === undefined)) out.push(i);
  }
  return out; // [] draws no dot (null would mean "all of them")
}
