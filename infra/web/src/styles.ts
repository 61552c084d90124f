import { css } from "lit";

/**
 * The elements' styles, adopted as constructable stylesheets: no inline style, so the
 * page runs under `style-src 'self'`. `theme` (the `--pg-*` custom properties, light
 * and dark) goes on the outer elements only, so that a host's overrides of them reach
 * every part; `base` is shared by all the parts.
 */
export const theme = css`

  :host {
    --pg-bg: #ffffff;
    --pg-surface: #f6f8fa;
    --pg-fg: #1f2328;
    --pg-muted: #59636e;
    --pg-border: #d1d9e0;
    --pg-accent: #0b5cc9;
    --pg-accent-fg: #ffffff;
    --pg-focus: #0b5cc9;
    --pg-danger: #b42318;
    --pg-danger-bg: #fdecea;
    --pg-warn-fg: #6a4500;
    --pg-warn-bg: #fff3cd;
    --pg-ok-fg: #116329;
    --pg-radius: 6px;
    display: block;
    color: var(--pg-fg);
    font: 400 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
    color-scheme: light dark;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --pg-bg: #0d1117;
      --pg-surface: #151b23;
      --pg-fg: #e6edf3;
      --pg-muted: #9198a1;
      --pg-border: #3d444d;
      --pg-accent: #4493f8;
      --pg-accent-fg: #0d1117;
      --pg-focus: #79b8ff;
      --pg-danger: #ff8a80;
      --pg-danger-bg: #3c1618;
      --pg-warn-fg: #f2cc60;
      --pg-warn-bg: #3a2d00;
      --pg-ok-fg: #56d364;
    }
  }
`;

export const base = css`
  :host {
    display: block;
  }
  * {
    box-sizing: border-box;
  }
  [hidden] {
    display: none !important;
  }
  h2,
  h3 {
    margin: 0;
    line-height: 1.25;
  }
  h2 {
    font-size: 1.25rem;
  }
  h3 {
    font-size: 1.05rem;
    overflow-wrap: anywhere;
  }
  p {
    margin: 0;
  }
  :focus-visible {
    outline: 3px solid var(--pg-focus);
    outline-offset: 2px;
  }
  [tabindex="-1"]:focus {
    outline: none;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .stack {
    display: grid;
    gap: 1.5rem;
  }
  .card {
    background: var(--pg-bg);
    border: 1px solid var(--pg-border);
    border-radius: var(--pg-radius);
    padding: 1.25rem;
  }
  @media (max-width: 30rem) {
    .card {
      padding: 0.875rem 0.75rem;
    }
  }
  .muted {
    color: var(--pg-muted);
  }
  .section-head {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: space-between;
    gap: 0.5rem 1rem;
    margin-bottom: 1rem;
  }

  /* Buttons */
  button {
    font: inherit;
    font-weight: 600;
    min-height: 2.5rem;
    padding: 0.375rem 1rem;
    border-radius: var(--pg-radius);
    border: 1px solid var(--pg-border);
    background: var(--pg-surface);
    color: var(--pg-fg);
    cursor: pointer;
  }
  button:hover {
    border-color: var(--pg-muted);
  }
  button.primary {
    background: var(--pg-accent);
    border-color: var(--pg-accent);
    color: var(--pg-accent-fg);
  }
  button.danger {
    color: var(--pg-danger);
  }
  button.danger.solid {
    background: var(--pg-danger);
    border-color: var(--pg-danger);
    color: var(--pg-bg);
  }
  button[aria-disabled="true"] {
    opacity: 0.7;
    cursor: progress;
  }
  button.small {
    min-height: 2.25rem;
    padding: 0.25rem 0.75rem;
    font-size: 0.9rem;
  }
  .link {
    border: none;
    background: none;
    padding: 0;
    min-height: 0;
    color: var(--pg-accent);
    text-decoration: underline;
    font-weight: 400;
  }

  /* Messages */
  .message {
    padding: 0.75rem 1rem;
    border-radius: var(--pg-radius);
    border: 1px solid var(--pg-border);
  }
  .message.error {
    background: var(--pg-danger-bg);
    border-color: var(--pg-danger);
    color: var(--pg-fg);
  }
  .message.warning {
    background: var(--pg-warn-bg);
    color: var(--pg-fg);
    border-color: var(--pg-warn-fg);
  }
  .message .actions {
    margin-top: 0.5rem;
  }

  /* Dialogs */
  dialog {
    border: 1px solid var(--pg-border);
    border-radius: var(--pg-radius);
    padding: 1.5rem;
    max-width: min(32rem, calc(100vw - 2rem));
    color: var(--pg-fg);
    background: var(--pg-bg);
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 0.45);
  }
  dialog .body {
    display: grid;
    gap: 1rem;
  }
  dialog .actions {
    justify-content: flex-end;
  }
  /* Reveal */
  .reveal {
    border: 2px solid var(--pg-accent);
    display: grid;
    gap: 0.75rem;
  }
  .reveal .warning {
    font-weight: 600;
  }
  .copy-row {
    display: flex;
    gap: 0.5rem;
    flex-wrap: wrap;
  }
  .copy-row input {
    flex: 1 1 16rem;
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.9rem;
  }
  .copied {
    color: var(--pg-ok-fg);
    font-weight: 600;
  }

  .badge {
    display: inline-block;
    font-size: 0.8rem;
    font-weight: 700;
    padding: 0.125rem 0.5rem;
    border-radius: 999px;
    background: var(--pg-warn-bg);
    color: var(--pg-warn-fg);
    border: 1px solid var(--pg-warn-fg);
  }
  .badge.neutral {
    background: var(--pg-surface);
    color: var(--pg-muted);
    border-color: var(--pg-border);
  }
  code {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.9em;
  }
  .soon-text {
    color: var(--pg-warn-fg);
    font-weight: 600;
  }
  .empty {
    text-align: center;
    padding: 2rem 1rem;
    display: grid;
    gap: 0.75rem;
    justify-items: center;
    border: 1px dashed var(--pg-border);
    border-radius: var(--pg-radius);
  }

  ul.revoked {
    list-style: none;
    margin: 0.5rem 0 0;
    padding: 0;
    display: grid;
    gap: 0.5rem;
  }
  ul.revoked li {
    border: 1px solid var(--pg-border);
    border-radius: var(--pg-radius);
    padding: 0.5rem 0.75rem;
  }
  .revoked-title {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  .notice + .list-body {
    margin-top: 1rem;
  }
  .notice {
    padding: 0.75rem 1rem;
    border-radius: var(--pg-radius);
    border: 1px solid var(--pg-warn-fg);
    background: var(--pg-warn-bg);
  }
`;
