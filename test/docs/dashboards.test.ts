/**
 * The Grafana dashboard (docs/grafana/infuse-breaker.json), the alert rules
 * (docs/prometheus/alerts.yml) and the PromQL of docs/metrics-and-tracing.md query what
 * `registerPrometheus` really exports: every metric they name is a series a real registry serves,
 * every label they match, group or print is one that series carries, and every label value they
 * match is one the library writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { Infuse } from '../../src/core/infuse.js';
import { TRANSITION_REASONS } from '../../src/core/types.js';
import { registerPrometheus } from '../../src/metrics/prometheus.js';
import { CALL_OUTCOMES, MODES } from '../../src/metrics/shared.js';
import { root } from '../helpers/doc-blocks.js';
import { parseYamlSubset } from '../helpers/yaml-subset.js';

const REASONS = TRANSITION_REASONS;

/** The values the library writes, per label; labels not listed take any value (`circuit`). */
const VALUES: Record<string, readonly string[]> = {
  state: MODES,
  from: MODES,
  to: MODES,
  outcome: CALL_OUTCOMES,
  reason: REASONS,
};

/** Exported series name → its label names, read from a real registry after real calls. */
const exported = new Map<string, Set<string>>();
/** The metric families registerPrometheus registers. */
let families: readonly string[] = [];

beforeAll(async () => {
  const registry = new Registry();
  const infuse = new Infuse({ failMax: 1, resetTimeout: 60_000 });
  const metrics = registerPrometheus(infuse, { registry });
  families = metrics.names;
  const circuit = infuse.circuit('api.example.com');
  await circuit.call(async () => 'ok');
  await circuit.call(async () => Promise.reject(new Error('down'))).catch(() => undefined);
  await circuit.call(async () => 'refused').catch(() => undefined);
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values as { metricName?: string; labels: object }[]) {
      const name = value.metricName ?? metric.name;
      const labels = exported.get(name) ?? new Set<string>();
      for (const label of Object.keys(value.labels)) labels.add(label);
      exported.set(name, labels);
    }
  }
  metrics.stop();
  await infuse.shutdown();
});

const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** What is wrong with one PromQL expression (or Grafana query); [] when nothing is. */
function problemsOf(query: string, printed: readonly string[] = []): string[] {
  const problems: string[] = [];
  const expr = query.replace(/\$__(rate_interval|range|interval)/g, '5m');
  const used = new Set<string>();
  for (const [, name = '', matchers = ''] of expr.matchAll(
    /([A-Za-z_:][\w:]*)\s*(?:\{([^}]*)\})?/g,
  )) {
    if (!/infuse|breaker/i.test(name)) continue; // functions, keywords, `le`
    const labels = exported.get(name);
    if (labels === undefined) {
      problems.push(`${name} is not a series registerPrometheus exports`);
      continue;
    }
    used.add(name);
    for (const [, label = '', op = '', value = ''] of matchers.matchAll(
      /([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g,
    )) {
      if (!labels.has(label)) problems.push(`${name} has no label "${label}"`);
      const allowed = VALUES[label];
      if (allowed === undefined || value.includes('$')) continue;
      const literals = op.endsWith('~') ? value.split('|') : [value];
      for (const literal of literals) {
        if (!/^[\w-]+$/.test(literal)) continue; // a real regular expression: not checked
        if (!allowed.includes(literal)) problems.push(`${label}="${literal}" is never written`);
      }
    }
  }
  if (used.size === 0) problems.push('queries no infuse_breaker series');
  const carried = new Set([...used].flatMap((name) => [...(exported.get(name) ?? [])]));
  const grouped = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap(([, list = '']) =>
    list.split(',').map((label) => label.trim()),
  );
  const labelValues = /label_values\(\s*[\w:]+\s*,\s*(\w+)\s*\)/.exec(expr)?.[1];
  for (const label of [...grouped, ...(labelValues ? [labelValues] : [])]) {
    if (!carried.has(label)) problems.push(`no series of the query carries "${label}"`);
  }
  // A legend or an annotation can print only what the aggregation kept.
  const kept = grouped.length > 0 ? new Set(grouped) : carried;
  for (const label of printed) {
    if (!kept.has(label)) problems.push(`prints "${label}", which the query does not keep`);
  }
  return problems;
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(read('docs/grafana/infuse-breaker.json')) as {
    panels: {
      id: number;
      title: string;
      gridPos: { x: number; w: number };
      targets: { expr: string; legendFormat?: string; refId: string }[];
    }[];
    templating: { list: { name: string; type: string; query?: { query: string } }[] };
  };

  it('has panels with unique ids, within the 24 columns of the grid, each with a query', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('queries only series, labels and values that registerPrometheus exports', () => {
    const problems = dashboard.panels.flatMap((panel) =>
      panel.targets.flatMap((target) => {
        const printed = [...(target.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map(
          ([, label = '']) => label,
        );
        return problemsOf(target.expr, printed).map((p) => `${panel.title}: ${p}`);
      }),
    );
    const variables = dashboard.templating.list.flatMap((variable) =>
      variable.type === 'query' && variable.query
        ? problemsOf(variable.query.query).map((p) => `$${variable.name}: ${p}`)
        : [],
    );
    expect([...problems, ...variables]).toEqual([]);
  });

  it('shows every metric family registerPrometheus registers', () => {
    const queries = dashboard.panels
      .flatMap((panel) => panel.targets.map((t) => t.expr))
      .join('\n');
    expect(families.length).toBeGreaterThan(0);
    for (const family of families) expect(queries, family).toMatch(new RegExp(`\\b${family}`));
  });
});

describe('the Prometheus alert rules', () => {
  // The shape the first test checks; the others rely on it.
  interface Rule {
    alert: string;
    expr: string;
    for?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  }
  const file = parseYamlSubset(read('docs/prometheus/alerts.yml')) as unknown as {
    groups: { name: string; rules: Rule[] }[];
  };
  const rules = file.groups.flatMap((group) => group.rules);

  it('name each alert once and give it an expression, a severity and a summary', () => {
    const names = rules.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule, rule.alert).toMatchObject({
        alert: expect.stringMatching(/^InfuseBreaker[A-Z]\w+$/),
        expr: expect.any(String),
        labels: { severity: expect.stringMatching(/^(critical|warning|info)$/) },
        annotations: { summary: expect.any(String) },
      });
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
    }
  });

  it('query only series, labels and values that registerPrometheus exports', () => {
    const problems = rules.flatMap((rule) => {
      const annotations = JSON.stringify(rule.annotations);
      const printed = [...annotations.matchAll(/\$labels\.(\w+)/g)].map(([, label = '']) => label);
      return problemsOf(rule.expr, printed).map((p) => `${rule.alert}: ${p}`);
    });
    expect(problems).toEqual([]);
  });
});

describe('the PromQL of docs/metrics-and-tracing.md', () => {
  it('queries only series, labels and values that registerPrometheus exports', () => {
    const text = read('docs/metrics-and-tracing.md');
    const queries = [...text.matchAll(/^```promql\n([\s\S]*?)^```$/gm)].flatMap(([, block = '']) =>
      // One query per comment: the lines below a `#` line, up to the next.
      block
        .split(/^#.*$/m)
        .map((query) => query.trim())
        .filter(Boolean),
    );
    expect(queries.length).toBeGreaterThan(3);
    expect(queries.flatMap((query) => problemsOf(query).map((p) => `${query}: ${p}`))).toEqual([]);
    // The metrics table names exported metrics only.
    for (const [name = ''] of text.matchAll(/\binfuse_breaker_[a-z_]+(?=\{|`)/g)) {
      expect(exported.has(name) || families.includes(name), name).toBe(true);
    }
  });
});

it('the docs link the dashboard and the rules', () => {
  const guide = read('docs/metrics-and-tracing.md');
  expect(guide).toContain('](grafana/infuse-breaker.json)');
  expect(guide).toContain('](prometheus/alerts.yml)');
});
