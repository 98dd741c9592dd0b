/**
 * prom-client metrics for the per-call hot path, counted in plain numbers.
 *
 * prom-client's `observe()` and `inc()` do label work on every value: they
 * validate the label set, hash it (sorting its keys) and build a closure. On
 * a ListTools that was ~8 % of the router's CPU (bench/FINDINGS.md §9). The
 * classes here keep prom-client's names, help, buckets, registry and text
 * format, and move the label work to scrape time:
 *
 * - `MethodHistogram` is a prom-client `Histogram` whose observations are
 *   kept per method in a plain array (a bucket search and three additions
 *   per call) and exported in the same form as prom-client's own;
 * - `BatchedCounter` wraps a prom-client `Counter`: counts are kept per label
 *   set and added to the counter in its `collect` hook, which prom-client
 *   runs before every read.
 *
 * Callers hold the handle for their label values (`series()`, `child()`),
 * looked up once per label set: label sets must come from a bounded set
 * (methods, status codes), as for any Prometheus series.
 */
import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** One method's observations: counts per bucket (not cumulative), sum and count. */
export class MethodSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly method: string,
    private readonly bounds: readonly number[],
    /** Told of the first value since the series was created or cleared (the export order). */
    private readonly onFirst: (s: MethodSeries) => void,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Records one value (seconds): the first bucket whose bound is ≥ it, as prom-client does. */
  observe(value: number): void {
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.counts[i]++;
        break;
      }
    }
    this.sum += value;
    if (this.count++ === 0) this.onFirst(this);
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/**
 * A histogram with one label, `method`. `series(method).observe(v)` is the
 * hot path; `observe({ method }, v)` (prom-client's signature) works too.
 */
export class MethodHistogram extends Histogram<'method'> {
  private readonly byMethod = new Map<string, MethodSeries>();
  /** The series observed since the last reset, in the order of their first value (prom-client's export order). */
  private observed: MethodSeries[] = [];
  /** The bucket bounds, ascending (prom-client sorts and checks them). */
  private readonly buckets: readonly number[];
  private readonly config: Omit<HistogramConfiguration<'method'>, 'labelNames' | 'collect' | 'enableExemplars'>;

  constructor(config: Omit<HistogramConfiguration<'method'>, 'labelNames' | 'collect' | 'enableExemplars'>) {
    super({ ...config, labelNames: ['method'] });
    this.config = config;
    this.buckets = (this as unknown as { upperBounds: readonly number[] }).upperBounds;
    // prom-client's constructor binds `observe` per instance: route it here.
    this.observe = ((labels: { method?: string | number } | number, value?: number) => {
      if (typeof labels !== 'object' || labels.method === undefined || typeof value !== 'number') {
        throw new TypeError(`MethodHistogram ${config.name}: observe({ method }, seconds) expected; received ${JSON.stringify([labels, value])}`);
      }
      this.series(String(labels.method)).observe(value);
    }) as Histogram<'method'>['observe'];
  }

  /** The series of `method` (created on first use): keep it and call its `observe`. */
  series(method: string): MethodSeries {
    let s = this.byMethod.get(method);
    if (!s) this.byMethod.set(method, (s = new MethodSeries(method, this.buckets, (first) => this.observed.push(first))));
    return s;
  }

  /**
   * What the registry formats (prom-client's own hook, read before `get()`): per method, the
   * cumulative buckets, `+Inf`, sum and count, with `method` as a shared label, as prom-client
   * builds them. Series with no observation are left out, as prom-client leaves out series never
   * observed (or reset).
   */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const bounds = this.buckets;
    const name = this.config.name;
    const values: MetricValue<string>[] = [];
    // The fields of prom-client's own values (`exemplar` is null on buckets without exemplars).
    const value = (labels: object, sharedLabels: object, v: number, metricName: string) =>
      ({ labels, sharedLabels, value: v, metricName, exemplar: 'le' in labels ? null : undefined }) as MetricValue<string>;
    for (const s of this.observed) {
      const shared = { method: s.method };
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += s.counts[i];
        values.push(value({ le: bounds[i] }, shared, acc, `${name}_bucket`));
      }
      values.push(value({ le: '+Inf' }, shared, s.count, `${name}_bucket`), value({}, shared, s.sum, `${name}_sum`), value({}, shared, s.count, `${name}_count`));
    }
    // prom-client's typings declare `type` as an enum and a `collect` member; at run time (and in
    // its text format) `type` is the name, and its own histogram returns no `collect`.
    return { name, help: this.config.help, type: 'histogram', values, aggregator: this.config.aggregator ?? 'sum' } as unknown as MetricObjectWithValues<MetricValue<string>>;
  }

  /** As prom-client's `get()`: the same values with the shared labels merged into each value's labels. */
  override async get(): Promise<MetricObjectWithValues<MetricValue<'method'>>> {
    const data = await this.getForPromString();
    const values = data.values.map((v) => {
      const { sharedLabels, labels, ...rest } = v as MetricValue<string> & { sharedLabels?: object };
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return { ...data, values } as MetricObjectWithValues<MetricValue<'method'>>;
  }

  // prom-client's child and timer API would write to its own (unexported) table: refused, loudly.
  override labels(): never {
    throw this.unsupported('labels');
  }

  override startTimer(): never {
    throw this.unsupported('startTimer');
  }

  override zero(): never {
    throw this.unsupported('zero');
  }

  override remove(): never {
    throw this.unsupported('remove');
  }

  private unsupported(method: string): TypeError {
    return new TypeError(`MethodHistogram ${this.config.name}: ${method}() is not supported; use series(method).observe(seconds) or observe({ method }, seconds)`);
  }

  /** Zeroes every series; handles held by callers keep counting. */
  override reset(): void {
    super.reset();
    // Also called by prom-client's constructor, before this class's fields exist.
    for (const s of this.byMethod?.values() ?? []) s.clear();
    this.observed = [];
  }
}

/** A handle on one label set of a `BatchedCounter`. */
export interface CountHandle {
  inc(): void;
}

/**
 * A prom-client `Counter` fed from plain numbers: `child(...values).inc()`
 * counts; the counts are added to the counter when it is read.
 */
export class BatchedCounter<T extends string> {
  readonly counter: Counter<T>;
  private readonly name: string;
  private readonly labelNames: readonly T[];
  private readonly pending = new Map<string, { labels: Partial<Record<T, string>>; n: number; handle: CountHandle }>();

  constructor(config: Omit<CounterConfiguration<T>, 'collect'> & { labelNames: readonly T[] }) {
    this.name = config.name;
    this.labelNames = config.labelNames;
    const flush = () => this.flush();
    this.counter = new Counter<T>({ ...config, collect: flush });
  }

  /** The handle for these label values, in `labelNames` order (one per label set, kept). */
  child(...values: string[]): CountHandle {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`BatchedCounter ${this.name}: ${this.labelNames.length} label values expected (${this.labelNames.join(', ')}); received ${JSON.stringify(values)}`);
    }
    const key = values.join('\u0000');
    let p = this.pending.get(key);
    if (!p) {
      const labels: Partial<Record<T, string>> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]));
      const entry: { labels: Partial<Record<T, string>>; n: number; handle: CountHandle } = { labels, n: 0, handle: { inc: () => void entry.n++ } };
      this.pending.set(key, (p = entry));
    }
    return p.handle;
  }

  /** Moves the pending counts into the prom-client counter (its collect hook; also callable directly). */
  flush(): void {
    for (const p of this.pending.values()) {
      if (p.n === 0) continue;
      this.counter.inc(p.labels as Parameters<Counter<T>['inc']>[0] & object, p.n);
      p.n = 0;
    }
  }
}
