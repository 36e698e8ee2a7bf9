/** Durations for people: `45 s`, `12 min 5 s`, `6 h`, `3 h 0 min` (whole units, truncated). */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return seconds % 3600 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}
