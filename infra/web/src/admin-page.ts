/** The standalone page of the organisation's access tokens: the site's sign-in, hosting <patgate-admin-tokens>. */
import { html } from "lit";
import "./patgate-admin-tokens.js";
import { start } from "./site.js";

start({
  defaultUser: "demo-admin",
  purpose: "see and manage the organisation's access tokens",
  render: (config, session, ended) => html`<patgate-admin-tokens
    api-base=${config.apiBase}
    .getSession=${session}
    @patgate-admin-tokens:unauthenticated=${() => ended(null)}
  ></patgate-admin-tokens>`,
});
