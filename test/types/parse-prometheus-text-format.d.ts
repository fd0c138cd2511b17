/**
 * Types for parse-prometheus-text-format 1.1 (the package ships none): only what the tests use.
 * Every number is a string, as the parser gives it (`"1"`, `"0.0125"`, `"+Inf"`).
 */
declare module 'parse-prometheus-text-format' {
  /** One sample (counter, gauge, untyped) or one labelled histogram or summary. */
  export interface PrometheusMetric {
    readonly labels?: Readonly<Record<string, string>>;
    /** Counters, gauges, untyped. */
    readonly value?: string;
    /** Histograms: upper bound (`le`) → cumulative count. */
    readonly buckets?: Readonly<Record<string, string>>;
    /** Summaries: quantile → value. */
    readonly quantiles?: Readonly<Record<string, string>>;
    /** Histograms and summaries. */
    readonly count?: string;
    readonly sum?: string;
  }

  /** One metric family: its `# HELP`, `# TYPE` and samples. */
  export interface PrometheusMetricFamily {
    readonly name: string;
    readonly help: string;
    readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    readonly metrics: readonly PrometheusMetric[];
  }

  /** Parses the Prometheus text exposition format; throws on malformed input. */
  export default function parsePrometheusTextFormat(text: string): PrometheusMetricFamily[];
}
