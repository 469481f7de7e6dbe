// Node-RED settings for the ingest bench (bench/node-red-ingest.ts): headless, quiet, offline.
// The port, the user directory and the flow file are given on the command line; the broker port,
// the database file and the PRAGMA come from MW_BENCH_* environment variables named in flows.json.
module.exports = {
  uiHost: '127.0.0.1',
  // No editor and no admin API: the flow is fixed, and nothing should change it during a run.
  httpAdminRoot: false,
  httpNodeRoot: false,
  // No credentials in the flow; do not generate a key file in the temp user directory.
  credentialSecret: false,
  flowFilePretty: true,
  // info: the bench waits for "Started flows"; nothing is logged per message at this level.
  logging: { console: { level: 'info', metrics: false, audit: false } },
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  // The machine reaches no update server: never ask.
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { projects: { enabled: false } },
  functionExternalModules: false,
  mqttReconnectTime: 1000,
  sqliteReconnectTime: 1000,
};
