/*
 * Preloaded (NODE_OPTIONS=--require) into a program this project did not write
 * and that cannot be told which address to bind: @modelcontextprotocol/server-everything
 * (`app.listen(PORT)`, i.e. every interface). This only fills in the host of a
 * listen() call that names none, with MCP_TEST_LISTEN_HOST (default 127.0.0.1),
 * so the test server stays on loopback. Nothing else changes.
 *
 * (With a host, Node binds after an async lookup, so a program that reads
 * server.address() right after listen() breaks under this preload: the MCP
 * conformance runner does, and runs in its own network namespace instead.)
 */
'use strict';
const net = require('node:net');

const host = process.env.MCP_TEST_LISTEN_HOST || '127.0.0.1';
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort && typeof args[1] !== 'string') {
    // listen(port[, backlog][, callback]) -> listen(port, host[, backlog][, callback])
    args.splice(1, 0, host);
  } else if (first && typeof first === 'object' && !(first instanceof net.Server) && first.path === undefined && first.fd === undefined && first.handle === undefined && first._handle === undefined && first.host === undefined) {
    args[0] = { ...first, host };
  } else if (args.length === 0 || typeof first === 'function') {
    args.unshift(0, host);
  }
  return listen.apply(this, args);
};
