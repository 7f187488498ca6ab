import { useState } from 'preact/hooks';
import type { ConsoleConfig, ConsoleUser, ReviewList, ReviewStatus } from '../../src/review/console-api';
import { OutcomeBadge } from './Badge';
import { ago, baseName, pct } from './format';
import { ReviewDetailPanel } from './ReviewDetail';
import { navigate } from './route';
import { useApi } from './useApi';

interface Props {
  readonly config: ConsoleConfig;
  readonly user: ConsoleUser;
  readonly reviewId?: string;
}

export function Reviews({ config, user, reviewId }: Props) {
  const [status, setStatus] = useState<ReviewStatus>('PENDING');
  const { data, error, loading, reload } = useApi<ReviewList>(`/api/reviews?status=${status}`);
  const items = data?.items;

  const filter = (s: ReviewStatus, text: string, testId: string) => (
    <button type="button" role="tab" aria-selected={status === s} class={`seg ${status === s ? 'seg-on' : ''}`}
      data-testid={testId} onClick={() => setStatus(s)}>{text}</button>
  );

  return (
    <section class="page" aria-labelledby="reviews-title">
      <div class="page-head">
        <h1 id="reviews-title">Review queue</h1>
        <div class="toolbar">
          <div class="segmented" role="tablist" aria-label="Review status">
            {filter('PENDING', 'Pending', 'status-filter-pending')}
            {filter('DECIDED', 'Decided', 'status-filter-decided')}
          </div>
          <button type="button" class="btn" onClick={reload} disabled={loading}>{loading ? 'Loading…' : 'Refresh'}</button>
        </div>
      </div>
      {!user.canReview && <p class="notice">You are a viewer: the queue is read-only.</p>}
      <div class="split">
        <div class="card list-card">
          <div class="card-head">
            <h2>{status === 'PENDING' ? 'Pending, oldest first' : 'Decided, newest first'}</h2>
            {items && <span class="count">{items.length}</span>}
          </div>
          {error && <p class="error" role="alert">{error}</p>}
          <ul class="review-list" data-testid="review-list" aria-busy={loading}>
            {items?.length === 0 && <li class="muted empty">{status === 'PENDING' ? 'Nothing to review.' : 'No decisions yet.'}</li>}
            {items?.map((item) => (
              <li key={item.reviewId}>
                <button type="button" class="review-row" data-testid="review-row" data-review-id={item.reviewId}
                  aria-current={item.reviewId === reviewId ? 'true' : undefined}
                  onClick={() => navigate({ view: 'reviews', reviewId: item.reviewId })}>
                  <span class="row-main">
                    <span class="row-key" title={item.key}>{baseName(item.key)}</span>
                    <OutcomeBadge outcome={item.outcome} />
                  </span>
                  <span class="row-sub">
                    {item.decision
                      ? <span>{item.decision}{item.reviewedLabel ? `: ${item.reviewedLabel}` : ''}{item.reviewer ? ` by ${item.reviewer}` : ''}</span>
                      : <span>{item.label ?? 'no label'} · {pct(item.confidence)}</span>}
                    <span class="muted" title={item.decidedAt ?? item.createdAt}>{ago(item.decidedAt ?? item.createdAt)}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div class="detail-col">
          {reviewId
            ? <ReviewDetailPanel key={reviewId} reviewId={reviewId} config={config} user={user} onDecided={reload} />
            : <div class="card placeholder muted">Select an image in the queue to see what the model said{user.canReview ? ' and decide' : ''}.</div>}
        </div>
      </div>
    </section>
  );
}
