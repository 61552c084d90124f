/**
 * How the parts talk to the element that holds them: events that bubble inside its
 * shadow root and stop there (not composed), so a host page never sees them.
 */

/** A sentence for screen readers, spoken by the outer element's live region. */
export const ANNOUNCE = "pg-announce";

export function announce(from: HTMLElement, message: string): void {
  from.dispatchEvent(new CustomEvent<string>(ANNOUNCE, { detail: message, bubbles: true }));
}

/** A part's request or news for the element that holds it (detail: what it is about). */
export function tell<T>(from: HTMLElement, type: string, detail: T): void {
  from.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles: true }));
}

/** Asks the holder to reload the list (a create or rotation whose outcome the list must show). */
export const RELOAD_REQUEST = "token-reload";
