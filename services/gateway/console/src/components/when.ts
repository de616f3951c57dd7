/** A timestamp as people read it (local time, to the second); '' for none. */
export function when(at: string | undefined): string {
  if (at === undefined || at === '') return '';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { hour12: false });
}
