import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleConfig, UploadStatus, UploadTicket } from '../../src/review/console-api';
import { OutcomeBadge } from './Badge';
import { bytes, pct } from './format';
import { href } from './route';
import { api, errorMessage } from './session';

const POLL_MS = 2000;
const POLL_LIMIT_MS = 120_000;

type State =
  | { readonly step: 'idle' }
  | { readonly step: 'refused'; readonly message: string }
  | { readonly step: 'requesting' | 'uploading'; readonly file: string }
  | { readonly step: 'waiting'; readonly file: string; readonly key: string; readonly seconds: number }
  | { readonly step: 'classified'; readonly file: string; readonly status: UploadStatus }
  | { readonly step: 'timeout'; readonly file: string; readonly key: string }
  | { readonly step: 'failed'; readonly file: string; readonly message: string };

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

export function Upload({ config }: { config: ConsoleConfig }) {
  const [state, setState] = useState<State>({ step: 'idle' });
  const [preview, setPreview] = useState<string>();
  const [dragging, setDragging] = useState(false);
  const run = useRef<AbortController>();

  useEffect(() => () => run.current?.abort(), []);
  useEffect(() => () => { if (preview) URL.revokeObjectURL(preview); }, [preview]);

  const start = async (file: File) => {
    run.current?.abort();
    const ctl = new AbortController();
    run.current = ctl;
    const { signal } = ctl;
    const name = file.name;
    if (!file.type.startsWith('image/')) {
      setPreview(undefined);
      return setState({ step: 'refused', message: `${name} is not an image (type “${file.type || 'unknown'}”).` });
    }
    if (file.size > config.maxUploadBytes) {
      setPreview(undefined);
      return setState({ step: 'refused', message: `${name} is ${bytes(file.size)}: larger than the ${bytes(config.maxUploadBytes)} the pipeline accepts.` });
    }
    if (file.size === 0) {
      setPreview(undefined);
      return setState({ step: 'refused', message: `${name} is empty.` });
    }
    setPreview(URL.createObjectURL(file));
    try {
      setState({ step: 'requesting', file: name });
      const ticket = await api<UploadTicket>('/api/uploads', {
        method: 'POST', body: { fileName: name, contentType: file.type, size: file.size }, signal,
      });
      if (signal.aborted) return;
      setState({ step: 'uploading', file: name });
      let put: Response;
      try {
        put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: file, signal });
      } catch {
        if (signal.aborted) return;
        throw new Error('The upload to S3 failed (network or CORS).');
      }
      await put.text().catch(() => '');
      if (!put.ok) throw new Error(`S3 refused the upload (${put.status}).`);
      const started = Date.now();
      while (!signal.aborted) {
        const seconds = Math.round((Date.now() - started) / 1000);
        setState({ step: 'waiting', file: name, key: ticket.key, seconds });
        await sleep(POLL_MS, signal);
        if (signal.aborted) return;
        const status = await api<UploadStatus>(`/api/uploads/status?key=${encodeURIComponent(ticket.key)}`, { signal });
        if (signal.aborted) return;
        if (status.status === 'CLASSIFIED') return setState({ step: 'classified', file: name, status });
        if (Date.now() - started >= POLL_LIMIT_MS) return setState({ step: 'timeout', file: name, key: ticket.key });
      }
    } catch (e) {
      if (!signal.aborted) setState({ step: 'failed', file: name, message: errorMessage(e) });
    }
  };

  const busy = state.step === 'requesting' || state.step === 'uploading' || state.step === 'waiting';

  return (
    <section class="page" aria-labelledby="upload-title">
      <div class="page-head"><h1 id="upload-title">Upload</h1></div>
      <div class="card upload">
        <p class="muted">Send an image through the pipeline and see how it is classified. Images up to {bytes(config.maxUploadBytes)}.</p>
        <label class={`drop ${dragging ? 'drop-on' : ''}`}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            const file = e.dataTransfer?.files[0];
            if (file) void start(file);
          }}>
          <input id="upload-input" data-testid="upload-input" class="file" type="file" accept="image/*"
            onChange={(e) => {
              const input = e.currentTarget;
              const file = input.files?.[0];
              if (file) void start(file);
              input.value = '';
            }} />
          <span class="drop-title">Choose an image</span>
          <span class="muted small">or drop it here. It is uploaded as soon as you pick it.</span>
        </label>
        <div class="upload-status" data-testid="upload-status" role="status" aria-live="polite" aria-busy={busy}>
          {preview && <img class="upload-preview" src={preview} alt="The chosen image" />}
          <div>
            <StatusText state={state} />
          </div>
        </div>
      </div>
    </section>
  );
}

function StatusText({ state }: { state: State }) {
  switch (state.step) {
    case 'idle': return <p class="muted">No upload yet.</p>;
    case 'refused': return <p class="error">{state.message}</p>;
    case 'requesting': return <p><span class="spinner" aria-hidden="true" />Preparing the upload of {state.file}…</p>;
    case 'uploading': return <p><span class="spinner" aria-hidden="true" />Uploading {state.file}…</p>;
    case 'waiting': return (
      <p><span class="spinner" aria-hidden="true" />Uploaded as <span class="mono break">{state.key}</span>. Waiting for the pipeline… {state.seconds}s</p>
    );
    case 'timeout': return <p class="error">{state.file} was not classified within 2 minutes. It may still be processing: look for <span class="mono">{state.key}</span> in the review queue later.</p>;
    case 'failed': return <p class="error">{state.file}: {state.message}</p>;
    case 'classified': {
      const s = state.status;
      return (
        <div class="classified">
          <p><strong>{state.file}</strong> classified: {s.outcome && <OutcomeBadge outcome={s.outcome} />}</p>
          <p>Label <strong>{s.label ?? '—'}</strong> with confidence <strong>{pct(s.confidence)}</strong></p>
          {s.reviewId && <p><a href={href({ view: 'reviews', reviewId: s.reviewId })} data-testid="upload-review-link">Open its review</a></p>}
        </div>
      );
    }
  }
}
