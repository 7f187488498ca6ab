import { useCallback, useEffect, useState } from 'preact/hooks';
import type { ConsoleConfig, ConsoleUser, DecisionRequest, ReviewDetail, ReviewItem } from '../../src/review/console-api';
import { OutcomeBadge } from './Badge';
import { pct, when } from './format';
import { api, ApiError, errorMessage } from './session';

interface Props {
  readonly reviewId: string;
  readonly config: ConsoleConfig;
  readonly user: ConsoleUser;
  readonly onDecided: () => void;
}

const s3 = (bucket: string, key: string) => `s3://${bucket}/${key}`;

export function decisionText(item: ReviewItem): string {
  const label = item.reviewedLabel && item.decision !== 'UNUSABLE' ? `: ${item.reviewedLabel}` : '';
  return `${item.decision}${label}${item.reviewer ? ` by ${item.reviewer}` : ''}`;
}

export function ReviewDetailPanel({ reviewId, config, user, onDecided }: Props) {
  const [item, setItem] = useState<ReviewDetail>();
  const [loadError, setLoadError] = useState<string>();
  const [label, setLabel] = useState('');
  const [release, setRelease] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [imageFailed, setImageFailed] = useState(false);

  const load = useCallback(async (signal?: AbortSignal) => {
    try {
      const d = await api<ReviewDetail>(`/api/reviews/${encodeURIComponent(reviewId)}`, { signal });
      if (signal?.aborted) return;
      setItem(d);
      setImageFailed(false);
      setLabel(d.label && config.classLabels.includes(d.label) ? d.label : '');
      setLoadError(undefined);
    } catch (e) {
      if (!signal?.aborted) setLoadError(errorMessage(e));
    }
  }, [reviewId, config]);

  useEffect(() => {
    const ctl = new AbortController();
    void load(ctl.signal);
    return () => ctl.abort();
  }, [load]);

  if (loadError) return <div class="card" data-testid="review-detail"><p class="error" role="alert">{loadError}</p></div>;
  if (!item) return <div class="card" data-testid="review-detail" aria-busy="true"><p class="muted">Loading review…</p></div>;

  const decided = item.status === 'DECIDED' || !!item.decision;
  const modelLabelKnown = !!item.label && config.classLabels.includes(item.label);

  const decide = async (request: DecisionRequest) => {
    setBusy(true);
    setError(undefined);
    const body: DecisionRequest = release && item.quarantine ? { ...request, release: true } : request;
    try {
      const result = await api<ReviewItem>(`/api/reviews/${encodeURIComponent(item.reviewId)}/decision`, { method: 'POST', body });
      setItem({ ...item, ...result, imageUrl: item.imageUrl });
      onDecided();
    } catch (e) {
      setError(errorMessage(e));
      if (e instanceof ApiError && e.status === 409) {
        // decided meanwhile (elsewhere): show that decision, keep the message
        void load();
        onDecided();
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class="card detail" data-testid="review-detail" aria-labelledby="detail-title">
      <div class="card-head">
        <h2 id="detail-title" class="break">{item.key.split('/').pop()}</h2>
        <OutcomeBadge outcome={item.outcome} />
      </div>
      <div class="detail-grid">
        <figure class="preview">
          {imageFailed
            ? <div class="image-missing">
              <p>The image could not be loaded (its link lasts 5 minutes{item.released ? ', and the image was moved' : ''}).</p>
              <button type="button" class="btn" onClick={() => void load()}>Reload</button>
            </div>
            : <a href={item.imageUrl} target="_blank" rel="noopener noreferrer" title="Open the full-size image">
              <img data-testid="review-image" src={item.imageUrl} alt={`Image under review: ${item.key}`} onError={() => setImageFailed(true)} />
            </a>}
        </figure>
        <div>
          <dl class="facts">
            <dt>Model's label</dt><dd><strong>{item.label ?? '—'}</strong> <span class="muted">{pct(item.confidence)}</span></dd>
            <dt>Outcome</dt><dd>{item.outcome}</dd>
            <dt>Key</dt><dd class="break mono">{item.key}</dd>
            <dt>Location</dt>
            <dd class="break">
              {item.quarantine && !item.released
                ? <><span class="badge badge-quarantine">Quarantined</span> <span class="mono">{s3(item.quarantine.bucket, item.quarantine.key)}</span></>
                : item.released
                  ? <><span class="badge badge-released">Released</span> <span class="mono">{s3(item.bucket, item.key)}</span></>
                  : <span class="mono">{s3(item.bucket, item.key)}</span>}
            </dd>
            <dt>Classified</dt><dd>{when(item.createdAt)}</dd>
            {item.versionId && <><dt>Version</dt><dd class="break mono small">{item.versionId}</dd></>}
            <dt>Execution</dt><dd class="break mono small">{item.executionArn.split(':').pop()}</dd>
          </dl>
        </div>
      </div>

      <h3>Top scores</h3>
      <ol class="scores" data-testid="review-scores">
        {item.topK.length === 0 && <li class="muted">No scores.</li>}
        {item.topK.map((s) => (
          <li class={s.label === item.label ? 'score-top' : ''}>
            <span class="score-label">{s.label}</span>
            <span class="score-bar" role="meter" aria-valuemin={0} aria-valuemax={1} aria-valuenow={s.score} aria-label={`${s.label} score`}>
              <span class="score-fill" style={{ width: `${Math.max(0, Math.min(1, s.score)) * 100}%` }} />
            </span>
            <span class="score-value">{pct(s.score)}</span>
          </li>
        ))}
      </ol>

      {decided && (
        <div class="result" data-testid="decision-result" role="status">
          <span class="result-main">{decisionText(item)}</span>
          <span class="muted small">
            {item.decidedAt && ` · ${when(item.decidedAt)}`}
            {item.released ? ' · released to its original key' : item.quarantine ? ' · still quarantined' : ''}
          </span>
        </div>
      )}

      {!decided && user.canReview && (
        <form class="decision" onSubmit={(e) => e.preventDefault()} aria-label="Decision">
          <div class="decision-row">
            <label for="decision-label">Label</label>
            <select id="decision-label" data-testid="decision-label" value={label} onChange={(e) => setLabel(e.currentTarget.value)} disabled={busy}>
              {!label && <option value="" disabled>Choose a label…</option>}
              {config.classLabels.map((l) => <option value={l}>{l}{l === item.label ? ' (model)' : ''}</option>)}
            </select>
          </div>
          {item.quarantine && (
            <div class="check">
              <input id="decision-release" data-testid="decision-release" type="checkbox" checked={release}
                onChange={(e) => setRelease(e.currentTarget.checked)} disabled={busy} />
              <label for="decision-release">Release the image back to its original key</label>
            </div>
          )}
          <div class="row">
            <button type="button" class="btn btn-primary" data-testid="decision-confirm"
              disabled={busy || !modelLabelKnown} title={item.label ? `Confirm the model's label “${item.label}”` : 'The model gave no label'}
              onClick={() => void decide({ label: item.label })}>Confirm label</button>
            <button type="button" class="btn" data-testid="decision-correct"
              disabled={busy || !label || label === item.label} title={label ? `Record “${label}” as the correct label` : 'Choose a label'}
              onClick={() => void decide({ label })}>Save corrected label</button>
            <button type="button" class="btn btn-danger" data-testid="decision-unusable" disabled={busy}
              onClick={() => void decide({ unusable: true })}>Unusable</button>
          </div>
        </form>
      )}
      {error && <p class="error" role="alert" data-testid="decision-error">{error}</p>}
    </article>
  );
}
