import { css } from "lit";

/**
 * The token table: compact rows with a sticky header when wide; below 50rem of its
 * own width (a container query, whatever the viewport), one block per token with
 * labelled values.
 */
export const tableStyles = css`
  :host {
    container-type: inline-size;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem 1rem;
    align-items: flex-end;
    margin-bottom: 0.5rem;
  }
  .toolbar .field {
    display: grid;
    gap: 0.25rem;
  }
  .toolbar .search {
    flex: 1 1 14rem;
  }
  .toolbar .sort {
    flex: 0 1 16rem;
  }
  .toolbar label {
    font-weight: 600;
  }
  .toolbar input,
  .toolbar select {
    min-height: 2.25rem;
    padding: 0.25rem 0.5rem;
  }
  .filters {
    flex: 1 1 100%;
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    border: none;
    padding: 0;
    margin: 0;
  }
  .filters legend {
    float: left;
    margin-right: 0.25rem;
    padding: 0;
    font-size: 0.875rem;
  }
  .chip {
    display: inline-flex;
    align-items: center;
    gap: 0.375rem;
    font-size: 0.875rem;
    font-weight: 400;
    min-height: 2rem;
    padding: 0.125rem 0.625rem;
    border: 1px solid var(--pg-border);
    border-radius: 999px;
    background: var(--pg-surface);
    cursor: pointer;
  }
  .chip:has(input:checked) {
    border-color: var(--pg-accent);
    box-shadow: inset 0 0 0 1px var(--pg-accent);
  }
  .chip input {
    width: auto;
    min-height: 0;
    margin: 0;
    padding: 0;
  }
  .result-count:empty {
    display: none;
  }
  .result-count {
    font-size: 0.875rem;
    color: var(--pg-muted);
    margin-bottom: 0.5rem;
  }
  .no-match {
    display: grid;
    gap: 0.5rem;
    justify-items: start;
    padding: 1rem;
    border: 1px dashed var(--pg-border);
    border-radius: var(--pg-radius);
  }
  table {
    width: 100%;
    border-collapse: collapse;
    font-size: 0.875rem;
    line-height: 1.35;
  }
  thead th {
    position: sticky;
    top: 0;
    z-index: 1;
    background: var(--pg-surface);
    text-align: left;
    font-size: 0.8rem;
    font-weight: 600;
    color: var(--pg-muted);
    white-space: nowrap;
    border-bottom: 1px solid var(--pg-border);
  }
  thead th[aria-sort]::after {
    content: " ↓";
  }
  thead th[aria-sort="ascending"]::after {
    content: " ↑";
  }
  th,
  td {
    padding: 0.375rem 0.5rem;
    vertical-align: top;
    text-align: left;
  }
  tbody tr {
    border-bottom: 1px solid var(--pg-border);
  }
  tbody tr:focus,
  tbody tr:focus-visible {
    outline: 3px solid var(--pg-focus);
    outline-offset: -3px;
  }
  tbody tr.soon th {
    box-shadow: inset 4px 0 0 var(--pg-warn-fg);
  }
  tbody th {
    font-weight: 400;
    min-width: 9rem;
    max-width: 16rem;
  }
  .name {
    display: block;
    font-weight: 700;
    overflow-wrap: anywhere;
  }
  .desc {
    display: -webkit-box;
    -webkit-line-clamp: 2;
    -webkit-box-orient: vertical;
    overflow: hidden;
    color: var(--pg-muted);
    overflow-wrap: anywhere;
  }
  .cell-label {
    display: none;
  }
  .sub {
    display: block;
    color: var(--pg-muted);
  }
  td.created time,
  td.created .sub,
  td.expires .sub,
  td.hint,
  td.actions {
    white-space: nowrap;
  }
  td.actions {
    width: 1%; /* as narrow as its buttons: the other columns share the rest */
  }
  td.expires .sub {
    display: inline;
  }
  td.expires time {
    display: block;
  }
  .sub.soon-text {
    color: var(--pg-warn-fg);
    font-weight: 600;
  }
  td.expires {
    min-width: 10rem;
  }
  td.used {
    min-width: 8rem;
    overflow-wrap: anywhere;
  }
  td.hint code {
    white-space: nowrap;
  }
  td.expires .badge {
    margin-left: 0.375rem;
    font-size: 0.75rem;
    padding: 0 0.375rem;
  }
  .lost {
    margin-top: 0.25rem;
    display: grid;
    gap: 0.125rem;
    justify-items: start;
  }
  .lost-text {
    color: var(--pg-warn-fg);
  }
  td.actions .message {
    min-width: 14rem; /* a failed action's message widens its column rather than tower in it */
  }
  td .message {
    white-space: normal;
    margin-top: 0.375rem;
    padding: 0.375rem 0.5rem;
    font-size: 0.8125rem;
  }
  .row-actions {
    display: flex;
    gap: 0.375rem;
    justify-content: flex-end;
  }
  .row-actions button.small {
    min-height: 2rem;
    padding: 0.125rem 0.625rem;
  }

  @container (max-width: 50rem) {
    thead {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0 0 0 0);
      white-space: nowrap;
    }
    table,
    tbody {
      display: block;
    }
    tbody tr {
      display: grid;
      grid-template-columns: 1fr 1fr;
      grid-auto-flow: row dense; /* Last used fills the place beside Created */
      gap: 0.375rem 0.75rem;
      padding: 0.625rem 0.25rem;
    }
    th,
    td {
      display: block;
      padding: 0;
      min-width: 0;
    }
    tbody th {
      grid-column: 1 / -1;
      max-width: none;
      padding-left: 0.5rem;
    }
    td.expires,
    td.actions,
    tr.lost-row td.permissions {
      grid-column: 1 / -1;
    }
    .cell-label {
      display: block;
      font-size: 0.75rem;
      font-weight: 600;
      text-transform: uppercase;
      letter-spacing: 0.03em;
      color: var(--pg-muted);
    }
    td.actions .cell-label {
      display: none;
    }
    td.actions {
      width: auto;
      white-space: normal;
    }
    td.actions .message {
      min-width: 0;
    }
    .row-actions {
      justify-content: flex-end;
    }
    .row-actions button.small {
      min-height: 2.5rem;
      padding: 0.25rem 1rem;
    }
  }
`;
