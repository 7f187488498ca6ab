import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly values: number[];
}

interface Props {
  readonly testId: string;
  readonly label: string;
  readonly timestamps: number[];
  readonly series: ChartSeries[];
  readonly height?: number;
}

const INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 1e6, 1e7];

/** A uPlot time-series chart that follows its container's width. */
export function Chart({ testId, label, timestamps, series, height = 240 }: Props) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const width = Math.max(300, el.clientWidth);
    const opts: uPlot.Options = {
      width,
      height,
      series: [
        { label: 'Time' },
        ...series.map((s) => ({
          label: s.name,
          stroke: s.color,
          fill: `${s.color}14`,
          width: 2,
          points: { show: timestamps.length < 40, size: 5 },
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : String(v)),
        })),
      ],
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.15))] },
      },
      axes: [
        { stroke: '#667085', grid: { stroke: '#eaecf0', width: 1 }, ticks: { stroke: '#eaecf0', width: 1 } },
        { stroke: '#667085', grid: { stroke: '#eaecf0', width: 1 }, ticks: { stroke: '#eaecf0', width: 1 }, incrs: INCRS, size: 48 },
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
    const data: uPlot.AlignedData = [timestamps, ...series.map((s) => timestamps.map((_, i) => s.values[i] ?? 0))];
    const plot = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => {
      const w = Math.max(300, el.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [timestamps, series, height]);

  return (
    <div class="chart" data-testid={testId} role="figure" aria-label={label}>
      <div ref={box} />
      {timestamps.length === 0 && <p class="chart-empty muted">No data in this period.</p>}
    </div>
  );
}
