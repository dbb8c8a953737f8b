// What both modes share of talking to the server (the HTTP transport is
// the http part, parts/http.js, loaded when a data-api-url widget first needs it).

// What the widget tells the site's owner of the visitor (issue 24): the
// page (no fragment), the referrer, the browser, its language and time
// zone. The server bounds and checks each; none is ever required (a
// missing one is "").
export function visitorInfo() {
  return {
    pageUrl: location.href.split('#')[0],
    referrer: document.referrer,
    userAgent: navigator.userAgent,
    language: navigator.language,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
}

// The messages of a history answer worth showing: the visitor's, the
// assistant's and a person's (role agent, with their name), with text.
export function shown(msgs) {
  return (Array.isArray(msgs) ? msgs : []).filter(
    (m) => m && /^(user|assistant|agent)$/.test(m.role) && typeof m.content === 'string' && (m.content || m.attachments)
  );
}
