/** An S3 object tag. */
export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

/** Tag keys the pipeline writes. Documented in the README; renaming one is a breaking change. */
export const TagKey = {
  LABEL: 'ics:label',
  CONFIDENCE: 'ics:confidence',
  OUTCOME: 'ics:outcome',
} as const;

/** S3 allows at most 10 tags per object. */
export const MAX_TAGS = 10;

/** S3 tag values: at most 256 characters of letters, digits, spaces and `+ - = . _ : / @`. */
function tagValue(text: string): string {
  return text.replace(/[^\p{L}\p{N}\s+\-=._:/@]/gu, '_').slice(0, 256);
}

/**
 * The object's complete tag set after classification: its own tags (PutObjectTagging replaces the
 * whole set, so they are carried over) plus the pipeline's, whose earlier values are replaced. When the
 * merged set would exceed S3's 10 tags, the object is left as it is: `undefined`.
 */
export function mergeTags(existing: readonly Tag[], label: string, confidence: number, outcome: string): Tag[] | undefined {
  const ours = new Set<string>(Object.values(TagKey));
  const kept = existing.filter((t) => !ours.has(t.Key));
  const merged = [
    ...kept,
    { Key: TagKey.LABEL, Value: tagValue(label) },
    { Key: TagKey.CONFIDENCE, Value: confidence.toFixed(4) },
    { Key: TagKey.OUTCOME, Value: outcome },
  ];
  return merged.length <= MAX_TAGS ? merged : undefined;
}

/**
 * `CopySource` for CopyObject: `bucket/key`, URL-encoded as S3 requires (the `/` between key segments
 * kept), with `?versionId=` so the copy is of exactly the version that was classified.
 */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const path = `${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}
