/** The standalone "My access tokens" page: the site's sign-in, hosting <patgate-tokens>. */
import { html } from "lit";
import type { CreateDraft } from "./create-rules.js";
import "./patgate-tokens.js";
import { start } from "./site.js";

start({
  defaultUser: "demo-user",
  purpose: "see and manage your access tokens",
  render: (config, session, ended, draft) => html`<patgate-tokens
    api-base=${config.apiBase}
    .draft=${draft}
    .getSession=${session}
    @patgate-tokens:unauthenticated=${(event: CustomEvent<{ draft?: CreateDraft | null }>) =>
      ended(event.detail?.draft ?? null)}
  ></patgate-tokens>`,
});
