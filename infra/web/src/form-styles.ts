import { css } from "lit";

/** The create dialog's fields. */
export const formStyles = css`
  dialog {
    max-width: min(44rem, calc(100vw - 1rem));
    width: 100%;
    max-height: calc(100dvh - 1rem);
    overflow: auto;
  }
  @media (max-width: 30rem) {
    dialog {
      padding: 1rem;
    }
  }
  .day-spelled {
    font-weight: 600;
  }
  /* Form */
  form {
    display: grid;
    gap: 1.25rem;
  }
  .field {
    display: grid;
    gap: 0.375rem;
    min-width: 0;
    align-content: start;
  }
  .field-row {
    display: grid;
    gap: 1.25rem;
    grid-template-columns: repeat(auto-fit, minmax(min(100%, 16rem), 1fr));
  }
  label,
  legend {
    font-weight: 600;
  }
  .label-line {
    display: flex;
    justify-content: space-between;
    gap: 1rem;
    align-items: baseline;
  }
  .counter {
    font-size: 0.875rem;
    color: var(--pg-muted);
    font-variant-numeric: tabular-nums;
  }
  .counter.over {
    color: var(--pg-danger);
  }
  input,
  textarea,
  select {
    font: inherit;
    color: var(--pg-fg);
    background: var(--pg-bg);
    border: 1px solid var(--pg-muted);
    border-radius: var(--pg-radius);
    padding: 0.5rem 0.625rem;
    width: 100%;
    min-width: 0;
    min-height: 2.5rem;
  }
  textarea {
    resize: vertical;
    min-height: 4.5rem;
  }
  [aria-invalid="true"] {
    border-color: var(--pg-danger);
    border-width: 2px;
  }
  .hint {
    font-size: 0.875rem;
    color: var(--pg-muted);
  }
  .field-error {
    font-size: 0.9rem;
    color: var(--pg-danger);
    font-weight: 600;
  }
  .picks {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  .picks button[aria-pressed="true"] {
    border-color: var(--pg-accent);
    box-shadow: inset 0 0 0 1px var(--pg-accent);
  }
  .stop-line {
    padding: 0.625rem 0.75rem;
    border-left: 4px solid var(--pg-accent);
    background: var(--pg-surface);
    border-radius: 0 var(--pg-radius) var(--pg-radius) 0;
  }
  fieldset {
    border: 1px solid var(--pg-border);
    border-radius: var(--pg-radius);
    padding: 0.75rem 1rem 1rem;
    margin: 0;
    min-width: 0;
  }
  .choice {
    display: flex;
    gap: 0.5rem;
    align-items: baseline;
    font-weight: 400;
    padding: 0.25rem 0;
  }
  .choice input {
    flex: none; /* a label on two lines must not squeeze the control */
    width: auto;
    min-height: 0;
    margin: 0;
  }
  .perm-list {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr));
    gap: 0.25rem 1rem;
    margin: 0.25rem 0 0 1.5rem;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem;
    align-items: center;
  }

`;
