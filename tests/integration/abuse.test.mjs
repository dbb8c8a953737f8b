// Issue 13's attacks, each run as an attacker without credentials would,
// each asserting the bound that holds it (the figures are printed as the
// tests' diagnostics; the latencies are also measured by `make bench`):
//   abuse/sessions.mjs  token-less upgrades store no session; a session is
//                       stored by its first message, swept when idle and
//                       with its widget; the token outside the URL
//   abuse/sessionid.mjs issue 20: session ids shown as digests; none opens
//                       a visitor's conversation over the HTTP API
//   abuse/history.mjs   contacts per session and claims; a 3 MB
//                       conversation's capped resume; a resume loop
//   abuse/login.mjs     logins from one IPv6 /64, /health during a login
//                       flood, the failed-login budget, the fingerprint
//   abuse/surface.mjs   /metrics behind a proxy, the HTTP chat and the
//                       default widget, CSV payloads, per-client caps
//   abuse/memory.mjs    issue 20: half-sent bodies and ping floods from one
//                       machine, the workers' RSS bounded and given back;
//                       16 KiB of page tools on 200 sockets, kept as text
//   abuse/pipelined.mjs pipelined answers never read, from one address: the
//                       worker's RSS bounded, another address served
// Each part starts its own stack, but for sessionid and history, which
// share one (abuse/shared.mjs: the same settings); they run one after
// another.
import { after } from 'node:test';

import './abuse/sessions.mjs';
import './abuse/sessionid.mjs';
import './abuse/history.mjs';
import './abuse/login.mjs';
import './abuse/surface.mjs';
import './abuse/memory.mjs';
import './abuse/pipelined.mjs';
import { stopShared } from './abuse/shared.mjs';

after(stopShared);   // if a part left it running
