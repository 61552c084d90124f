/**
 * The inventory's counts (`GET /org/tokens/summary`) as a list of labelled figures
 * (pure, unit-tested) and their template. The counters are kept at day resolution by
 * the server, a moment behind the table.
 */
import { css, html, type TemplateResult } from "lit";
import type { InventorySummary } from "./admin-api.js";

export interface Figure {
  id: string;
  label: string;
  value: number;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** Days (numeric keys of a count map), smallest first. */
function byDays(counts: Record<string, number> | undefined): Array<[number, number]> {
  return Object.entries(counts ?? {})
    .map(([days, n]) => [Number(days), count(n)] as [number, number])
    .filter(([days]) => Number.isInteger(days))
    .sort((a, b) => a[0] - b[0]);
}

/** The figures, in reading order: total, by owner kind, scoped, expiring, idle, never used. */
export function summaryFigures(summary: InventorySummary): Figure[] {
  const figures: Figure[] = [
    { id: "total", label: "Live tokens", value: count(summary.total) },
    { id: "people", label: "Owned by people", value: count(summary.byOwnerKind?.user) },
    { id: "service", label: "Owned by service accounts", value: count(summary.byOwnerKind?.service) },
    { id: "scoped", label: "With limited permissions", value: count(summary.scoped) },
  ];
  for (const [days, n] of byDays(summary.expiringWithinDays)) {
    figures.push({ id: `expiring-${days}`, label: `Expiring within ${days} days`, value: n });
  }
  for (const [days, n] of byDays(summary.unusedForDays)) {
    figures.push({ id: `unused-${days}`, label: `Unused for ${days} days or more`, value: n });
  }
  figures.push({ id: "never", label: "Never used", value: count(summary.neverUsed) });
  return figures;
}

export const summaryStyles = css`
  .figures {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(min(100%, 6.5rem), 1fr));
    gap: 0.5rem;
    margin: 0.75rem 0 0.5rem;
  }
  .figure {
    border: 1px solid var(--pg-border);
    border-radius: var(--pg-radius);
    padding: 0.375rem 0.625rem;
    display: flex;
    flex-direction: column-reverse;
    justify-content: flex-end;
  }
  .figure dt {
    color: var(--pg-muted);
    font-size: 0.8125rem;
    line-height: 1.3;
  }
  .figure dd {
    margin: 0;
    font-size: 1.25rem;
    font-weight: 700;
    font-variant-numeric: tabular-nums;
  }
`;

export function summaryList(summary: InventorySummary): TemplateResult {
  return html`<dl class="figures">
    ${summaryFigures(summary).map(
      (f) => html`<div class="figure" data-figure=${f.id}>
        <dt>${f.label}</dt>
        <dd>${f.value.toLocaleString("en-GB")}</dd>
      </div>`,
    )}
  </dl>`;
}
