// Part "setup": the console's line for each setup failure the server made
// known (a refused key, a site not in CORS_ORIGIN or not in the widget's
// allowed origins, a disabled, unknown or malformed widget) or that the
// page's CSP caused (the socket blocked: the server told too), and a
// data-accent-color that is not a colour: the fix, named. Cold code, so
// not in the core: the core's tell() loads this file (before the widget
// mounts, too), says the line once per reason and only then shows the
// state. Unlike the other parts its default export is say(why, url, wid,
// status), not a function of ctx.
// An unreachable server is the core's own line: this file could not load
// from it either.
export default function say(why, u, wid, status) {
  // A widget's socket (wid: its URL, here): the server hears of it over
  // plain HTTP, which the config's fetch showed this CSP allows.
  if (why == 'csp' && wid) fetch(wid + '/report?reason=csp', { method: 'POST', credentials: 'omit', keepalive: true }).catch(() => 0);
  const site = 'this site (' + location.origin + ')';
  const dash = ' in the dashboard';
  console.warn(
    '[parley]',
    {
      key: "data-api-key refused (401): use the server's WIDGET_API_KEY",
      // data-widget mode's config: the widget does not start
      id: 'not started: data-widget is not a widget id',
      config: 'not started: widget ' + wid + ': bad config',
      gone: 'not started: widget ' + wid + ': ' + (status == 404 ? 'no such widget (404)' : 'HTTP ' + status),
      // (a mistake of the tag's, not the server's: cold code all the same)
      accent: 'data-accent-color must be #rgb or #rrggbb; using #0ea5e9',
      cors: site + ' is not in CORS_ORIGIN: add it there',
      origin: site + ' is not in the allowed origins of widget ' + wid + dash,
      disabled: 'widget ' + (wid || 'default') + ' is disabled: enable it' + dash,
      csp:
        "this page's Content-Security-Policy blocks " +
        u.host +
        '; add `script-src ' +
        u.origin +
        '; connect-src ' +
        u.origin +
        ' ' +
        u.origin.replace('http', 'ws') + // https: -> wss:
        '` to it',
    }[why]
  );
}
