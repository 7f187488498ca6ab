export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span class={`badge badge-${outcome.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`}>{outcome}</span>;
}
