import autocannon from 'autocannon';

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  requests: number;
}

export function percentiles(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { p50: at(50), p95: at(95), p99: at(99), requests: sorted.length };
}

export interface HttpLoad {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Per-request setup (distinct ids); returns the changed request. */
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
  connections?: number;
  /** Seconds of measuring (or `amount` requests). */
  duration?: number;
  amount?: number;
}

/**
 * One bounded autocannon run over loopback; latency of every response is kept so p95
 * is exact (autocannon's own summary has p90 and p97.5, not p95). Any non-2xx fails the bench.
 */
export async function httpLoad(load: HttpLoad): Promise<Latency & { rps: number }> {
  const samples: number[] = [];
  const instance = autocannon({
    url: load.url,
    connections: load.connections ?? 1,
    ...(load.amount ? { amount: load.amount } : { duration: load.duration ?? 2 }),
    requests: [
      {
        method: load.method ?? 'GET',
        headers: load.headers,
        body: load.body,
        ...(load.setupRequest ? { setupRequest: load.setupRequest } : {}),
      },
    ],
    timeout: 30,
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => samples.push(ms));
  const result = await instance;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${load.method ?? 'GET'} ${load.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { ...percentiles(samples), rps: result.requests.average };
}

/** Repeats `work` sequentially for `seconds` (after `warmupSeconds`) and returns its latency in ms. */
export async function timeLoop(work: () => Promise<unknown>, seconds: number, warmupSeconds = 0.3): Promise<Latency> {
  const warmEnd = performance.now() + warmupSeconds * 1000;
  while (performance.now() < warmEnd) await work();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return percentiles(samples);
}

export async function timeOnce<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}
