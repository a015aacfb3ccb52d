// Prometheus metrics in the text exposition format: counters the server bumps as it answers, and
// gauges (storage, audit) sampled when /metrics is scraped. No client library needed for this much.

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, number>;
}

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

const counterHelp = {
  holdfast_uploads_total: 'Objects stored, by client and type (repeats of identical objects included).',
  holdfast_upload_bytes_total: 'Bytes received in accepted uploads, by client and type.',
  holdfast_downloads_total: 'Object reads answered, by client and type.',
  holdfast_download_bytes_total: 'Bytes sent for object reads, by client and type.',
  holdfast_deletes_total: 'Deletes answered, by client and type.',
  holdfast_http_responses_total: 'HTTP responses, by status code.',
  holdfast_http_errors_total: 'HTTP responses with a status of 400 or more, by status code.',
} as const;
export type CounterName = keyof typeof counterHelp;

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  private readonly counters = new Map<CounterName, Family>();

  inc(name: CounterName, labels: Labels, by = 1): void {
    let f = this.counters.get(name);
    if (!f) {
      f = { help: counterHelp[name], type: 'counter', values: new Map() };
      this.counters.set(name, f);
    }
    const key = labelText(labels);
    f.values.set(key, (f.values.get(key) ?? 0) + by);
  }

  /** Removes a client's series, e.g. when its account is removed. */
  forgetClient(client: string): void {
    const needle = `client="${escape(client)}"`;
    for (const f of this.counters.values()) for (const key of [...f.values.keys()]) if (key.includes(needle)) f.values.delete(key);
  }

  /** The exposition text: the counters, then the gauges passed in (name → help and samples). */
  render(gauges: ReadonlyMap<string, { help: string; samples: readonly Sample[] }>): string {
    const out: string[] = [];
    const family = (name: string, help: string, type: string, rows: Iterable<[string, number]>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
    };
    for (const [name, f] of this.counters) family(name, f.help, f.type, f.values);
    for (const [name, g] of gauges) {
      family(name, g.help, 'gauge', g.samples.map((s) => [labelText(s.labels), s.value] as [string, number]));
    }
    return out.join('\n') + '\n';
  }
}
