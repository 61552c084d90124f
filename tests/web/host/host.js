// A host page of its own for <patgate-tokens> (browser tests): it signs in by itself
// (here with the local stack's development session, ?api=URL&user=ID) and hands the
// element a getSession. Only the element's own module comes from infra/web/dist.
import "./patgate-tokens.js";

const params = new URLSearchParams(location.search);
const api = params.get("api");
const user = params.get("user");
const response = await fetch(`${api}/local/session`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ userId: user }),
});
const { session } = await response.json();
const element = document.createElement("patgate-tokens");
element.setAttribute("api-base", api);
element.getSession = async () => session;
element.addEventListener("patgate-tokens:rendered", (event) => {
  document.getElementById("host-status").textContent = `Rendered ${event.detail.count} token(s).`;
});
document.querySelector("main").append(element);
