import { useMemo, useState } from 'preact/hooks';
import type { MetricsResponse } from '../../src/review/console-api';
import { Chart, type ChartSeries } from './Chart';
import { humanize, OUTCOME_ORDER, outcomeColor, PALETTE } from './format';
import { useApi } from './useApi';

const HOURS = [6, 24, 72];
const REFRESH_MS = 60_000;

const sum = (xs: number[] | undefined) => (xs ?? []).reduce((a, b) => a + (b || 0), 0);

function period(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}-hour`;
  if (seconds % 60 === 0) return `${seconds / 60}-minute`;
  return `${seconds}-second`;
}

export function Overview() {
  const [hours, setHours] = useState(24);
  const { data: metrics, error, loading, updated, reload } = useApi<MetricsResponse>(`/api/metrics?hours=${hours}`, {
    refreshMs: REFRESH_MS, keepWhileLoading: true,
  });

  const outcomes = useMemo(() => {
    const keys = metrics ? Object.keys(metrics.outcomes) : [];
    const ordered = [...OUTCOME_ORDER, ...keys.filter((k) => !OUTCOME_ORDER.includes(k)).sort()];
    return ordered.map((name, i): ChartSeries => ({ name, color: outcomeColor(name, i), values: metrics?.outcomes[name] ?? [] }));
  }, [metrics]);

  const labels = useMemo(() => {
    const keys = metrics ? Object.keys(metrics.labels) : [];
    return keys.map((name, i): ChartSeries => ({ name, color: PALETTE[i % PALETTE.length], values: metrics!.labels[name] }));
  }, [metrics]);

  const total = outcomes.reduce((a, s) => a + sum(s.values), 0);
  const alerts: ChartSeries = { name: 'ALERTS', color: '#334155', values: metrics?.alerts ?? [] };

  return (
    <section class="page" aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title">Overview</h1>
        <div class="toolbar">
          <label for="hours" class="inline-label">Window</label>
          <select id="hours" data-testid="hours-select" value={String(hours)} onChange={(e) => setHours(Number(e.currentTarget.value))}>
            {HOURS.map((h) => <option value={String(h)}>Last {h} hours</option>)}
          </select>
          <button type="button" class="btn" onClick={reload} disabled={loading}>{loading ? 'Loading…' : 'Refresh'}</button>
        </div>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="totals" data-testid="totals" aria-label={`Images per outcome, last ${hours} hours`}>
        <div class="stat stat-total">
          <div class="stat-value">{metrics ? total : '–'}</div>
          <div class="stat-label">Images</div>
        </div>
        {outcomes.map((s) => (
          <div class="stat" data-outcome={s.name}>
            <div class="stat-value"><span class="dot" style={{ background: s.color }} aria-hidden="true" />{metrics ? sum(s.values) : '–'}</div>
            <div class="stat-label">{humanize(s.name)}</div>
          </div>
        ))}
        <div class="stat" data-testid="alerts-total">
          <div class="stat-value"><span class="dot" style={{ background: alerts.color }} aria-hidden="true" />{metrics ? sum(alerts.values) : '–'}</div>
          <div class="stat-label">Alerts sent</div>
        </div>
      </div>
      <div class="card">
        <div class="card-head">
          <h2>Images per outcome, and alerts</h2>
          {metrics && <span class="muted small">{period(metrics.periodSeconds)} periods{updated && ` · updated ${updated.toLocaleTimeString()}`}</span>}
        </div>
        <Chart testId="chart-outcomes" label={`Images per outcome, last ${hours} hours`} timestamps={metrics?.timestamps ?? []} series={[...outcomes, alerts]} />
      </div>
      <div class="card">
        <div class="card-head">
          <h2>Images per label</h2>
          {metrics && labels.length === 0 && <span class="muted small">No labels in this window.</span>}
        </div>
        <Chart testId="chart-labels" label={`Images per top label, last ${hours} hours`} timestamps={metrics?.timestamps ?? []} series={labels} />
      </div>
    </section>
  );
}
