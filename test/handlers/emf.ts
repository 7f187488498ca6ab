/** EMF records Powertools writes to stdout while `fn` runs, parsed. */
export function emf(fn: () => void): any[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines.join('').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}
